//! Small-cell suppression (statistical disclosure control): which published counts and amounts of
//! the key figures are hidden so that no case of a small group can be recognised, nor recomputed
//! from the numbers that are shown.
//!
//! Every published count is a node; every table is a set of additive relations between nodes
//! (`total = part + part + ...`, e.g. all cases = cases per route in; closed = outcomes;
//! success = kept + replacement flat). Nodes shared by tables (the cohort total, the closed cases,
//! the female main tenants, the kept tenancies) are one node, so a suppression holds everywhere.
//!
//! 1. **Primary**: every count from 1 to 4 is shown as `<5`. Zero is shown as 0. An amount in euro
//!    is suppressed when fewer than five amounts make it up, or when its row's count is suppressed.
//! 2. **Secondary, per relation**: when exactly one member of a relation is suppressed, the
//!    smallest non-zero member still shown (a part before the total on equal values) is
//!    suppressed too, so no total minus the shown parts gives the hidden cell.
//! 3. **Secondary, across relations**: a suppressed node must not be computable from the shown
//!    numbers through any combination of relations (checked exactly, by Gaussian elimination over
//!    the relations restricted to the suppressed nodes). If one is, the smallest non-zero shown
//!    member of its relations is suppressed as well.
//!
//! Steps 2 and 3 repeat until nothing changes. Rates are shown only when numerator and
//! denominator are both shown; a median only over five or more decisions. The rule protects
//! against recomputing a cell exactly from the numbers within this report; it does not protect
//! against differencing two reports (e.g. two Fachstellen, or two runs with different data).

use std::collections::HashMap;

/// Cells from 1 to this value are suppressed.
const SMALL: i64 = 4;

/// The rule in English, as the JSON states it.
pub(super) const RULE: &str = "Every count from 1 to 4 is shown as \"<5\"; zero is shown as 0. An amount is suppressed when \
fewer than five amounts make it up or its count is suppressed. When exactly one member of an additive relation \
(a total and its parts, within or across tables) is suppressed, the smallest non-zero member still shown is \
suppressed too; and no suppressed cell may be computable exactly from the shown numbers through any combination \
of the relations (checked by elimination), else the smallest shown member of its relations is suppressed as well. \
Rates need numerator and denominator shown; medians need five or more decisions.";

/// The rule in German, as the HTML states it.
pub(super) const RULE_DE: &str = "Jede Zahl von 1 bis 4 wird als „<5“ angezeigt, 0 als 0. Ein Betrag wird unterdrückt, wenn er \
aus weniger als fünf Einzelbeträgen besteht oder seine Anzahl unterdrückt ist. Ist in einer Summenbeziehung \
(eine Summe und ihre Teile, innerhalb einer Tabelle oder über Tabellen hinweg) genau eine Zahl unterdrückt, wird \
zusätzlich die kleinste noch angezeigte Zahl ungleich 0 unterdrückt; außerdem darf keine unterdrückte Zahl durch \
irgendeine Kombination der Summenbeziehungen genau errechenbar sein (rechnerisch geprüft), sonst wird eine \
weitere Zahl unterdrückt. Quoten werden nur gezeigt, wenn Zähler und Nenner gezeigt werden, Mediane nur ab fünf \
Entscheidungen; sonst steht dort „nicht ausgewiesen“.";

/// A published number with its suppression state.
#[derive(Debug, Clone)]
struct Node {
    value: i64,
    /// For amounts: how many single amounts make it up (primary suppression under five).
    contributors: Option<i64>,
    suppressed: bool,
}

/// The numbers of a report and the additive relations between them; [`Suppression::run`] applies
/// the rule of the module documentation.
#[derive(Debug, Default)]
pub(super) struct Suppression {
    nodes: Vec<Node>,
    /// Each relation as (node, coefficient) pairs summing to zero: the total with -1, parts with +1.
    /// The first entry is the total.
    relations: Vec<Vec<(usize, i64)>>,
    /// (amount node, count node): the amount is suppressed whenever the count is.
    links: Vec<(usize, usize)>,
}

impl Suppression {
    pub(super) fn count(&mut self, value: i64) -> usize {
        self.nodes.push(Node { value, contributors: None, suppressed: false });
        self.nodes.len() - 1
    }

    pub(super) fn amount(&mut self, cents: i64, contributors: i64, count: usize) -> usize {
        self.nodes.push(Node { value: cents, contributors: Some(contributors), suppressed: false });
        let id = self.nodes.len() - 1;
        self.links.push((id, count));
        id
    }

    /// Declares `total = sum(parts)`.
    pub(super) fn sum(&mut self, total: usize, parts: &[usize]) {
        let sum: i64 = parts.iter().map(|p| self.nodes[*p].value).sum();
        assert_eq!(sum, self.nodes[total].value, "a relation of the key figures does not add up");
        let mut rel = vec![(total, -1)];
        rel.extend(parts.iter().map(|p| (*p, 1)));
        self.relations.push(rel);
    }

    pub(super) fn is_suppressed(&self, node: usize) -> bool {
        self.nodes[node].suppressed
    }

    pub(super) fn value(&self, node: usize) -> i64 {
        self.nodes[node].value
    }

    pub(super) fn run(&mut self) {
        for n in &mut self.nodes {
            let small = |v: i64| (1..=SMALL).contains(&v);
            n.suppressed = match n.contributors {
                None => small(n.value),
                Some(c) => small(c),
            };
        }
        loop {
            let mut changed = false;
            for (amount, count) in self.links.clone() {
                if self.nodes[count].suppressed && !self.nodes[amount].suppressed {
                    self.nodes[amount].suppressed = true;
                    changed = true;
                }
            }
            for r in 0..self.relations.len() {
                let hidden = self.relations[r].iter().filter(|(n, _)| self.nodes[*n].suppressed).count();
                if hidden == 1
                    && let Some(c) = self.smallest_shown(&self.relations[r])
                {
                    self.nodes[c].suppressed = true;
                    changed = true;
                }
            }
            if !changed && let Some(x) = self.derivable() {
                let members: Vec<(usize, i64)> = self
                    .relations
                    .iter()
                    .filter(|r| r.iter().any(|(n, _)| *n == x))
                    .flat_map(|r| r.iter().copied())
                    .collect();
                let pick = self.smallest_shown(&members).or_else(|| {
                    let all: Vec<(usize, i64)> = self.relations.iter().flatten().copied().collect();
                    self.smallest_shown(&all)
                });
                match pick {
                    Some(c) => {
                        self.nodes[c].suppressed = true;
                        changed = true;
                    }
                    None => break,
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The smallest non-zero member still shown, parts before the total on equal values.
    fn smallest_shown(&self, members: &[(usize, i64)]) -> Option<usize> {
        members
            .iter()
            .filter(|(n, _)| !self.nodes[*n].suppressed && self.nodes[*n].value != 0)
            .min_by_key(|(n, coef)| (self.nodes[*n].value, *coef < 0, *n))
            .map(|(n, _)| *n)
    }

    /// A suppressed node whose value follows from the shown numbers, if any. The relations,
    /// restricted to the suppressed nodes, are brought to reduced row echelon form; a node is
    /// determined exactly when its column is a pivot whose row has no other non-zero entry.
    fn derivable(&self) -> Option<usize> {
        let hidden: Vec<usize> = (0..self.nodes.len()).filter(|n| self.nodes[*n].suppressed).collect();
        if hidden.is_empty() {
            return None;
        }
        let col: HashMap<usize, usize> = hidden.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut m: Vec<Vec<f64>> = self
            .relations
            .iter()
            .map(|r| {
                let mut row = vec![0.0; hidden.len()];
                for (n, coef) in r {
                    if let Some(c) = col.get(n) {
                        row[*c] += *coef as f64;
                    }
                }
                row
            })
            .filter(|row| row.iter().any(|v| v.abs() > 1e-9))
            .collect();
        let mut pivots = Vec::new();
        let mut r = 0;
        for c in 0..hidden.len() {
            if r == m.len() {
                break;
            }
            let Some(p) = (r..m.len()).find(|i| m[*i][c].abs() > 1e-9) else { continue };
            m.swap(r, p);
            let lead = m[r][c];
            for v in &mut m[r] {
                *v /= lead;
            }
            for i in 0..m.len() {
                if i != r && m[i][c].abs() > 1e-9 {
                    let f = m[i][c];
                    let pivot_row = m[r].clone();
                    for (v, pv) in m[i].iter_mut().zip(pivot_row) {
                        *v -= f * pv;
                    }
                }
            }
            pivots.push((r, c));
            r += 1;
        }
        pivots
            .into_iter()
            .find(|(row, c)| m[*row].iter().enumerate().all(|(j, v)| j == *c || v.abs() <= 1e-9))
            .map(|(_, c)| hidden[c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A suppression over `values` with `relations` as (total, parts); returns what is suppressed.
    fn run(values: &[i64], relations: &[(usize, &[usize])]) -> Vec<bool> {
        let mut s = Suppression::default();
        for v in values {
            s.count(*v);
        }
        for (t, parts) in relations {
            s.sum(*t, parts);
        }
        s.run();
        s.nodes.iter().map(|n| n.suppressed).collect()
    }

    #[test]
    fn cells_from_one_to_four_are_suppressed_zero_and_five_are_not() {
        // total 0+1+4+5+20 = 30; 1 and 4 are primary, nothing else is needed: two hidden.
        let s = run(&[30, 0, 1, 4, 5, 20], &[(0, &[1, 2, 3, 4, 5])]);
        assert_eq!(s, [false, false, true, true, false, false]);
    }

    #[test]
    fn a_single_suppressed_cell_takes_the_next_smallest_of_its_row_with_it() {
        // 3 alone would be total minus the rest: the smallest other non-zero cell (6) goes too,
        // not the zero, not the larger ones.
        let s = run(&[29, 3, 0, 6, 8, 12], &[(0, &[1, 2, 3, 4, 5])]);
        assert_eq!(s, [false, true, false, true, false, false]);
    }

    #[test]
    fn a_total_under_five_is_suppressed_and_a_lone_part_then_hides_with_it() {
        // total 3 = 3 + 0: both suppressed (primary), nothing derivable.
        let s = run(&[3, 3, 0], &[(0, &[1, 2])]);
        assert_eq!(s, [true, true, false]);
        // total 7 = 7 + 0 where 7 is hidden by another relation: the total must go too.
        let s = run(&[7, 7, 0, 9, 2], &[(0, &[1, 2]), (3, &[1, 4])]);
        assert!(s[1] && s[4], "2 primary and 7 as its complement: {s:?}");
        assert!(s[0], "7 = total - 0 would reveal the hidden 7: {s:?}");
    }

    #[test]
    fn sub_sums_cannot_reveal_a_cell_across_relations() {
        // T = a + b + c + d with S = a + b shown as a sub-sum; c = 3 (primary). The row rule hides
        // a (6) with it, then b (10) for S = a + b; but T - S = c + d would still give c = 3 from
        // d. The exact check hides d as well.
        // nodes: 0 T, 1 a, 2 b, 3 c, 4 d, 5 S
        let mut sup = Suppression::default();
        for v in [40, 6, 10, 3, 21, 16] {
            sup.count(v);
        }
        sup.sum(0, &[1, 2, 3, 4]);
        sup.sum(5, &[1, 2]);
        sup.run();
        let hidden: Vec<bool> = sup.nodes.iter().map(|n| n.suppressed).collect();
        assert_eq!(hidden, [false, true, true, true, true, false]);
        assert_eq!(sup.derivable(), None);
    }

    #[test]
    fn the_exact_check_finds_what_the_row_rule_misses() {
        // Hidden {a, c} in T = a + b + c + d and S = a + b with b, S shown: a = S - b.
        let mut sup = Suppression::default();
        for v in [40, 6, 10, 3, 21, 16] {
            sup.count(v);
        }
        sup.sum(0, &[1, 2, 3, 4]);
        sup.sum(5, &[1, 2]);
        sup.nodes[1].suppressed = true;
        sup.nodes[3].suppressed = true;
        assert!(sup.derivable().is_some());
    }

    #[test]
    fn shared_totals_carry_a_suppression_into_every_table() {
        // N = 12 split by two tables; women (node 1) = 3 in table one is primary. In table two,
        // women = 1 + 2 (women's outcomes) both primary. Table one: 3 and 9 hidden, N shown.
        let s = run(&[12, 3, 9, 1, 2], &[(0, &[1, 2]), (1, &[3, 4])]);
        assert_eq!(s, [false, true, true, true, true]);
    }

    #[test]
    fn amounts_need_five_contributors_and_follow_their_count() {
        let mut s = Suppression::default();
        let total = s.count(9);
        let a = s.count(6);
        let b = s.count(3);
        s.sum(total, &[a, b]);
        let amount_total = s.amount(900_000, 9, total);
        let amount_a = s.amount(600_000, 4, a); // six takeovers, only four with an amount
        let amount_b = s.amount(300_000, 3, b);
        s.sum(amount_total, &[amount_a, amount_b]);
        s.run();
        assert!(s.is_suppressed(b) && s.is_suppressed(a), "3 and its complement 6");
        assert!(s.is_suppressed(amount_a) && s.is_suppressed(amount_b));
        assert!(!s.is_suppressed(total) && !s.is_suppressed(amount_total));
    }

    #[test]
    fn nothing_is_suppressed_when_every_cell_is_zero_or_at_least_five() {
        let s = run(&[25, 5, 0, 20], &[(0, &[1, 2, 3])]);
        assert!(s.iter().all(|x| !x));
    }
}
