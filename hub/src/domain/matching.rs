//! Which existing cases a new notice may belong to: the same tenancy (the landlord's reference), or a
//! tenant whose name sounds like a person of the case (Kölner Phonetik) with the same given name or
//! the same address. The caseworker decides; these are only suggestions, so a closed case counts too
//! (a household coming back is a repeat case).

use super::case::{Address, Case, CaseDetails};
use super::ids::{CaseId, OrgId};
use super::notice::{Notice, NoticeData, TenantContact};
use super::phonetic::sounds_alike;
use super::vocab::PersonRole;

/// Why a case is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchReason {
    /// The same landlord's tenancy reference.
    SameTenancy,
    /// A person's family and given names sound alike.
    SimilarName,
    /// A person's family name sounds alike and the address is the same.
    SimilarNameSameAddress,
}

/// A case a notice may belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The case.
    pub case_id: CaseId,
    /// Why, strongest first.
    pub reasons: Vec<MatchReason>,
}

/// The tenancy a notice is about: the landlord and its reference.
pub fn tenancy_of(notice: &Notice) -> (Option<&OrgId>, &str) {
    match &notice.data {
        NoticeData::Arrears(a) => (notice.reporter.as_ref(), a.tenancy_reference.as_str()),
        NoticeData::Court(c) => (c.landlord_org.as_ref(), c.tenancy_reference.as_str()),
    }
}

/// The tenants a notice names (none when a housing company reported without consent).
pub fn tenants_of(notice: &Notice) -> Vec<&TenantContact> {
    match &notice.data {
        NoticeData::Arrears(a) => a.tenant.iter().collect(),
        NoticeData::Court(c) => c.tenants.iter().collect(),
    }
}

/// Whether `case` holds the tenancy the notice is about (a reference is only compared when present).
pub fn same_tenancy(notice: &Notice, case: &Case) -> bool {
    let (landlord, reference) = tenancy_of(notice);
    !reference.is_empty()
        && case.details.tenancy.reference == reference
        && case.details.tenancy.landlord.as_ref() == landlord
}

/// The cases of `owner` a notice may belong to, strongest reason first, then the newest case.
pub fn suggestions(notice: &Notice, cases: &[Case], owner: &OrgId) -> Vec<Suggestion> {
    let tenants = tenants_of(notice);
    let mut out: Vec<(Suggestion, &Case)> = cases
        .iter()
        .filter(|c| &c.owner == owner)
        .filter_map(|case| {
            let mut reasons = Vec::new();
            if same_tenancy(notice, case) {
                reasons.push(MatchReason::SameTenancy);
            }
            for t in &tenants {
                for p in &case.details.persons {
                    if !sounds_alike(&t.family_name, &p.family_name) {
                        continue;
                    }
                    if sounds_alike(&t.given_name, &p.given_name) {
                        reasons.push(MatchReason::SimilarName);
                    }
                    if same_address(t, &case.details.address) {
                        reasons.push(MatchReason::SimilarNameSameAddress);
                    }
                }
            }
            reasons.sort_unstable();
            reasons.dedup();
            (!reasons.is_empty()).then(|| (Suggestion { case_id: case.id.clone(), reasons }, case))
        })
        .collect();
    out.sort_by(|(a, ca), (b, cb)| a.reasons[0].cmp(&b.reasons[0]).then(cb.opened_at.cmp(&ca.opened_at)));
    out.into_iter().map(|(s, _)| s).collect()
}

/// The same flat: postal code and house number equal, the street equal once written the same way
/// ("Musterstr. 7" and "Musterstraße 7").
fn same_address(t: &TenantContact, a: &Address) -> bool {
    let street = |s: &str| {
        let s = s.trim().to_lowercase().replace('ß', "ss").replace([' ', '-', '.'], "");
        s.strip_suffix("str").map_or(s.clone(), |stem| format!("{stem}strasse"))
    };
    let number = |s: &str| s.trim().to_lowercase().replace(' ', "");
    !t.street.trim().is_empty()
        && t.postal_code.trim() == a.postal_code.trim()
        && number(&t.house_number) == number(&a.house_number)
        && street(&t.street) == street(&a.street)
}

/// The closed case of `owner` a household returns from, when a new case (`details`) is opened: the
/// same tenancy, or the main tenant's names sounding alike at the same address. The newest such case.
pub fn earlier_case<'a>(details: &CaseDetails, cases: &'a [Case], owner: &OrgId) -> Option<&'a Case> {
    let main = details.persons.iter().find(|p| p.role == PersonRole::MainTenant)?;
    cases
        .iter()
        .filter(|c| &c.owner == owner && c.closure.is_some())
        .filter(|c| {
            let t = &c.details.tenancy;
            let same_tenancy = !t.reference.is_empty()
                && t.reference == details.tenancy.reference
                && t.landlord == details.tenancy.landlord;
            let a = &c.details.address;
            let same_flat = a.postal_code == details.address.postal_code
                && fold(&a.street) == fold(&details.address.street)
                && fold(&a.house_number) == fold(&details.address.house_number);
            let same_person = c.details.persons.iter().any(|p| {
                sounds_alike(&p.family_name, &main.family_name) && sounds_alike(&p.given_name, &main.given_name)
            });
            same_tenancy || (same_flat && same_person)
        })
        .max_by_key(|c| c.opened_at)
}

/// What a caseworker types into the search: words, each of which must be found in a name (by how
/// it sounds or as written, umlauts and accents folded: "Mueller", "Müller" and "Muller" meet), the
/// address, the tenancy reference or a court file number (Aktenzeichen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    words: Vec<String>,
}

impl Search {
    /// The search for `text`; `None` when it holds nothing to search for.
    pub fn parse(text: &str) -> Option<Self> {
        let words: Vec<String> = text.split_whitespace().map(fold).filter(|w| !w.is_empty()).collect();
        (!words.is_empty()).then_some(Self { words })
    }

    /// Whether `case` (with the file numbers of its court notices) matches every word.
    pub fn matches_case(&self, case: &Case, file_numbers: &[&str]) -> bool {
        let d = &case.details;
        let mut texts: Vec<String> = vec![
            fold(&format!("{} {}", d.address.street, d.address.house_number)),
            fold(&d.address.postal_code),
            fold(&d.tenancy.reference),
        ];
        texts.extend(file_numbers.iter().map(|f| fold(f)));
        let names: Vec<&str> = d.persons.iter().flat_map(|p| [p.family_name.as_str(), p.given_name.as_str()]).collect();
        self.words.iter().all(|w| word_found(w, &names, &texts))
    }

    /// Whether a notice not yet in a case matches every word (only what it lawfully carries).
    pub fn matches_notice(&self, notice: &Notice) -> bool {
        let (_, reference) = tenancy_of(notice);
        let mut texts = vec![fold(reference)];
        if let NoticeData::Court(c) = &notice.data {
            texts.push(fold(&c.court_file_number));
        }
        let identified = match &notice.data {
            NoticeData::Arrears(a) => a.consent_evidence.is_some(),
            NoticeData::Court(_) => true,
        };
        let tenants = if identified { tenants_of(notice) } else { Vec::new() };
        for t in &tenants {
            texts.push(fold(&format!("{} {}", t.street, t.house_number)));
        }
        let names: Vec<&str> = tenants.iter().flat_map(|t| [t.family_name.as_str(), t.given_name.as_str()]).collect();
        self.words.iter().all(|w| word_found(w, &names, &texts))
    }
}

fn word_found(word: &str, names: &[&str], texts: &[String]) -> bool {
    names.iter().any(|n| fold(n).contains(word) || sounds_alike(n, word)) || texts.iter().any(|t| t.contains(word))
}

/// Lower case with umlauts spelled out and accents dropped, without spaces inside file numbers
/// mattering less than letters: "Müller" and "Mueller" fold to "mueller", "12 C 345/26" to "12 c 345/26".
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'á' | 'à' | 'â' => out.push('a'),
            'ç' => out.push('c'),
            'ş' | 'š' => out.push('s'),
            'ı' | 'í' | 'î' => out.push('i'),
            'ó' | 'ô' | 'ø' => out.push('o'),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_folds_umlauts_and_hears_names() {
        let s = Search::parse("  Mueller  ").expect("a word");
        assert_eq!(s.words, ["mueller"]);
        assert!(Search::parse("   ").is_none());
        assert!(word_found("mueller", &["Müller"], &[]));
        assert!(word_found("muller", &["Müller"], &[]), "sounds alike");
        assert!(word_found("345/26", &[], &[fold("12 C 345/26")]));
        assert!(!word_found("schmidt", &["Müller"], &[fold("Musterweg 7")]));
    }

    #[test]
    fn streets_written_differently_are_the_same_street() {
        let t = TenantContact {
            family_name: "Müller".into(),
            street: "Musterstr.".into(),
            house_number: "7 a".into(),
            postal_code: "30449".into(),
            ..TenantContact::default()
        };
        let a = Address {
            street: "Musterstraße".into(),
            house_number: "7a".into(),
            postal_code: "30449".into(),
            city: "Hannover".into(),
        };
        assert!(same_address(&t, &a));
        assert!(!same_address(&TenantContact { postal_code: "30159".into(), ..t.clone() }, &a));
        assert!(!same_address(&TenantContact { street: String::new(), ..t }, &a));
    }
}
