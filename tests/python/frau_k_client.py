#!/usr/bin/env python3
"""Frau K. end to end, from Python: proves the Wohnungserhalt Hub API is usable from another language.

Uses nothing but stubs generated from proto/ (grpc_tools.protoc) and grpcio. Run it through
tests/python/run.sh, which builds and starts a real hub with a fresh PKI and passes:

    --target localhost:PORT   (the server certificate has SAN localhost)
    --pki-dir D/pki           (ca.pem, operator.pem/.key, clients/ORG.pem/.key)
    --server-pid PID          (optional: fail fast when the hub process dies)

All data is synthetic. Every mutating call carries a fresh uuid4 idempotency key (except the one check that
replays a key on purpose). Prints one line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from wohnungserhalt.hub.v1 import (
    cases_pb2,
    cases_pb2_grpc,
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    deliveries_pb2,
    deliveries_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    referrals_pb2,
    referrals_pb2_grpc,
)

C = common_pb2
CS = cases_pb2
R = referrals_pb2

FACHSTELLE = "fachstelle-hannover"
JOBCENTER = "jobcenter-hannover"
SOZIALAMT = "sozialamt-hannover"
SCHULDNERBERATUNG = "schuldnerberatung-nord"
WOHNBAU = "wohnbau-nord"
TRAEGER = "traeger-wohnhilfe"
FRAUENBERATUNG = "frauenberatung-hannover"

RPC_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
STAFF = (("x-staff-member", "S. Beispiel"),)

ALL_REFERRAL_CATEGORIES = [v for v in C.ReferralCategory.values() if v != C.REFERRAL_CATEGORY_UNSPECIFIED]

# The standard partner network of the contract: id, name, kind, accepted categories.
NETWORK = [
    (FACHSTELLE, "Fachstelle Wohnungserhalt Hannover", C.ORGANISATION_KIND_FACHSTELLE, ALL_REFERRAL_CATEGORIES),
    (JOBCENTER, "Jobcenter Region Hannover", C.ORGANISATION_KIND_JOBCENTER,
     [C.REFERRAL_CATEGORY_RENT_DEBT_TAKEOVER_SGB2, C.REFERRAL_CATEGORY_DIRECT_RENT_PAYMENT,
      C.REFERRAL_CATEGORY_BENEFIT_APPLICATION]),
    (SOZIALAMT, "Fachbereich Soziales Hannover", C.ORGANISATION_KIND_SOCIAL_SERVICES,
     [C.REFERRAL_CATEGORY_RENT_DEBT_TAKEOVER_SGB12, C.REFERRAL_CATEGORY_BENEFIT_APPLICATION,
      C.REFERRAL_CATEGORY_SPD, C.REFERRAL_CATEGORY_KSD]),
    (SCHULDNERBERATUNG, "Schuldnerberatung Nord", C.ORGANISATION_KIND_DEBT_COUNSELLING,
     [C.REFERRAL_CATEGORY_DEBT_COUNSELLING]),
    (WOHNBAU, "Wohnbau Nord", C.ORGANISATION_KIND_HOUSING_COMPANY, [C.REFERRAL_CATEGORY_LANDLORD_AGREEMENT]),
    (TRAEGER, "Träger Wohnhilfe", C.ORGANISATION_KIND_SOCIAL_WORK_PROVIDER,
     [C.REFERRAL_CATEGORY_SOCIAL_PEDAGOGICAL_SUPPORT, C.REFERRAL_CATEGORY_FLAT_CLEARING]),
    (FRAUENBERATUNG, "Frauenberatung Hannover", C.ORGANISATION_KIND_WOMENS_COUNSELLING,
     [C.REFERRAL_CATEGORY_WOMENS_COUNSELLING]),
]

BASE_CONSENT = [C.DATA_CATEGORY_IDENTITY, C.DATA_CATEGORY_CONTACT, C.DATA_CATEGORY_TENANCY,
                C.DATA_CATEGORY_ARREARS, C.DATA_CATEGORY_OUTCOME]


def idem() -> str:
    return str(uuid.uuid4())


def state_name(v: int) -> str:
    return C.ReferralState.Name(v)


class Abort(Exception):
    """A check failed that later checks depend on."""


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []

    def run(self, name: str, fn, *, critical: bool = False):
        """Runs one check; AssertionError, grpc.RpcError or any other exception fails it."""
        t0 = time.monotonic()
        try:
            result = fn()
        except Exception as e:  # every failure counts, whatever it is
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL  {name}: {describe(e)}", flush=True)
            if not isinstance(e, (AssertionError, grpc.RpcError)):
                traceback.print_exc()
            if critical:
                raise Abort(name) from e
            return None
        self.passed += 1
        print(f"ok    {name} ({time.monotonic() - t0:.2f}s)", flush=True)
        return result


def describe(e: BaseException) -> str:
    if isinstance(e, grpc.RpcError) and hasattr(e, "code"):
        return f"RPC error {e.code().name}: {e.details()}"
    return f"{type(e).__name__}: {e}"


def expect_rpc_error(fn, code: grpc.StatusCode, contains: str | None = None) -> grpc.RpcError:
    try:
        fn()
    except grpc.RpcError as e:
        assert e.code() == code, f"expected {code.name}, got {e.code().name}: {e.details()}"
        if contains is not None:
            assert contains in (e.details() or ""), f"expected {contains!r} in the message, got {e.details()!r}"
        return e
    raise AssertionError(f"expected {code.name}, but the call succeeded")


class Hub:
    """Channels to the hub, one per identity, all over TLS with the hub's CA."""

    def __init__(self, target: str, pki: Path) -> None:
        self.target = target
        self.pki = pki
        self._ca: bytes | None = None
        self._channels: dict[str, grpc.Channel] = {}

    @property
    def ca(self) -> bytes:
        if self._ca is None:
            self._ca = (self.pki / "ca.pem").read_bytes()
        return self._ca

    def _creds(self, cert: Path | None, key: Path | None) -> grpc.ChannelCredentials:
        if cert is None:
            return grpc.ssl_channel_credentials(root_certificates=self.ca)
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=key.read_bytes(), certificate_chain=cert.read_bytes())

    def channel(self, who: str) -> grpc.Channel:
        """who: an org id, "operator", or "anonymous" (TLS without a client certificate)."""
        if who not in self._channels:
            if who == "operator":
                creds = self._creds(self.pki / "operator.pem", self.pki / "operator.key")
            elif who == "anonymous":
                creds = self._creds(None, None)
            else:
                creds = self._creds(self.pki / "clients" / f"{who}.pem", self.pki / "clients" / f"{who}.key")
            self._channels[who] = grpc.secure_channel(self.target, creds)
        return self._channels[who]

    def directory(self, who: str):
        return directory_pb2_grpc.DirectoryServiceStub(self.channel(who))

    def cases(self, who: str):
        return cases_pb2_grpc.CaseServiceStub(self.channel(who))

    def consents(self, who: str):
        return consent_pb2_grpc.ConsentServiceStub(self.channel(who))

    def referrals(self, who: str):
        return referrals_pb2_grpc.ReferralServiceStub(self.channel(who))

    def events(self, who: str):
        return events_pb2_grpc.EventServiceStub(self.channel(who))

    def deliveries(self, who: str):
        return deliveries_pb2_grpc.DeliveryServiceStub(self.channel(who))

    def health(self, who: str):
        return health_pb2_grpc.HealthStub(self.channel(who))

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()


class EventCollector(threading.Thread):
    """Subscribes as one org from a cursor and collects events until stopped."""

    def __init__(self, hub: Hub, org: str, after_cursor: int = 0) -> None:
        super().__init__(daemon=True)
        self.events: list = []
        self.error: BaseException | None = None
        self.cond = threading.Condition()
        self.call = hub.events(org).Subscribe(events_pb2.SubscribeRequest(after_cursor=after_cursor),
                                              timeout=300)

    def run(self) -> None:
        try:
            for msg in self.call:
                with self.cond:
                    self.events.append(msg.event)
                    self.cond.notify_all()
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.error = e
        finally:
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(list(self.events)):
                left = deadline - time.monotonic()
                if left <= 0 or self.error is not None or not self.is_alive():
                    return pred(list(self.events))
                self.cond.wait(left)
            return True

    def stop(self) -> None:
        self.call.cancel()
        self.join(5)


def frau_k_details(today: dt.date) -> CS.CaseDetails:
    """Synthetic Frau K.: 41, single mother of two, warm rent 780 EUR, arrears 1,560 EUR."""
    return CS.CaseDetails(
        persons=[
            CS.Person(role=CS.PERSON_ROLE_MAIN_TENANT, given_name="Katrin", family_name="Kaiser",
                      gender=CS.GENDER_FEMALE, birth_year=today.year - 41),
            CS.Person(role=CS.PERSON_ROLE_CHILD, given_name="Lena", family_name="Kaiser",
                      gender=CS.GENDER_FEMALE, birth_year=today.year - 12),
            CS.Person(role=CS.PERSON_ROLE_CHILD, given_name="Jonas", family_name="Kaiser",
                      gender=CS.GENDER_MALE, birth_year=today.year - 8),
        ],
        address=CS.Address(street="Beispielstraße", house_number="12", postal_code="30451", city="Hannover"),
        contact=CS.Contact(phone="+49 511 0000000", email="k.kaiser@example.org"),
        stadtbezirk=CS.STADTBEZIRK_LINDEN_LIMMER,
        tenancy=CS.Tenancy(
            landlord_organisation_id=WOHNBAU,
            tenancy_reference="WN-0815-4711",
            start_date="2015-04-01",
            rent=CS.RentComponents(base_rent_cents=58000, service_charge_advance_cents=12000,
                                   heating_advance_cents=8000),
        ),
        arrears_cents=156000,
        route_in=CS.ROUTE_IN_HOUSING_COMPANY_NOTICE,
        schutzsperre=False,
        household_type=CS.HOUSEHOLD_TYPE_SINGLE_PARENT,
        income_benefits_note="Teilzeitstelle im Oktober verloren; Bürgergeld beantragt (wirksam ab Monatsanfang).",
        health_note="Synthetisch: Schlafstörungen seit dem Arbeitsplatzverlust.",
        counselling_note="Weitere Schulden ca. 4.200 EUR (Ratenkredit, Versandhandel).",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True, help="host:port, host must match the server cert (localhost)")
    ap.add_argument("--pki-dir", required=True, type=Path, help="the hub's D/pki directory")
    ap.add_argument("--server-pid", type=int, default=None, help="hub process to watch while waiting")
    args = ap.parse_args()

    hub = Hub(args.target, args.pki_dir)
    checks = Checks()
    try:
        scenario(hub, checks, args.server_pid)
    except Abort as a:
        checks.failed += 1
        checks.failures.append("remaining checks not run")
        print(f"ABORT later checks depend on the failed check {a}", flush=True)
    finally:
        hub.close()
    if checks.failures:
        print("failed: " + "; ".join(checks.failures))
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 0 if checks.failed == 0 else 1


def scenario(hub: Hub, checks: Checks, server_pid: int | None) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    s: dict = {}  # results shared between checks

    def pki_present():
        files = ["ca.pem", "operator.pem", "operator.key"]
        files += [f"clients/{org}.{ext}" for org, *_ in NETWORK for ext in ("pem", "key")]
        missing = [f for f in files if not (hub.pki / f).is_file()]
        assert not missing, f"missing in {hub.pki}: {missing}"

    checks.run("PKI material present (hub pki init / hub pki issue)", pki_present, critical=True)

    # --- readiness -----------------------------------------------------------------------------------------------
    def wait_ready():
        deadline = time.monotonic() + READY_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if server_pid is not None:
                try:
                    os.kill(server_pid, 0)
                except ProcessLookupError:
                    raise AssertionError("the hub process exited before it became ready") from None
            try:
                resp = hub.health("operator").Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = f"status {health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)}"
            except grpc.RpcError as e:
                last = describe(e)
            time.sleep(0.3)
        raise AssertionError(f"hub not SERVING within {READY_TIMEOUT:.0f}s (last: {last})")

    checks.run("hub answers the gRPC health check over TLS (SERVING)", wait_ready, critical=True)

    def health_without_cert():
        resp = hub.health("anonymous").Check(health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING, resp

    checks.run("health check works without a client certificate", health_without_cert)

    def no_cert_unauthenticated():
        expect_rpc_error(lambda: hub.directory("anonymous").ListOrganisations(
            directory_pb2.ListOrganisationsRequest(), timeout=RPC_TIMEOUT), grpc.StatusCode.UNAUTHENTICATED)

    checks.run("DirectoryService without a client certificate is UNAUTHENTICATED", no_cert_unauthenticated)

    # --- directory -----------------------------------------------------------------------------------------------
    def register_network():
        for org_id, name, kind, cats in NETWORK:
            spec = directory_pb2.OrganisationSpec(id=org_id, name=name, kind=kind, accepted_categories=cats,
                                                  channel=C.CHANNEL_GRPC, office_hours="Mo-Fr 08:00-16:00")
            resp = hub.directory("operator").RegisterOrganisation(
                directory_pb2.RegisterOrganisationRequest(idempotency_key=idem(), organisation=spec),
                timeout=RPC_TIMEOUT)
            org = resp.organisation
            assert org.id == org_id, f"registered {org.id!r}, expected {org_id!r}"
            assert org.kind == kind and org.channel == C.CHANNEL_GRPC, org
            assert org.active, f"{org_id} not active after registration"
            assert sorted(org.accepted_categories) == sorted(cats), f"{org_id}: categories {org.accepted_categories}"
            print(f"      registered {org_id}")

    checks.run("operator registers the 7 organisations of the standard network", register_network, critical=True)

    def list_directory():
        resp = hub.directory(WOHNBAU).ListOrganisations(directory_pb2.ListOrganisationsRequest(),
                                                        timeout=RPC_TIMEOUT)
        ids = [o.id for o in resp.organisations]
        assert sorted(ids) == sorted(n[0] for n in NETWORK), f"directory lists {ids}"
        assert ids == sorted(ids), f"directory not ordered by id: {ids}"

    checks.run("an organisation reads the directory (7 entries, ordered by id)", list_directory)

    # --- case ----------------------------------------------------------------------------------------------------
    def open_case():
        req = CS.OpenCaseRequest(
            idempotency_key=idem(), details=frau_k_details(today),
            initial_stage=C.ThreatStageEntry(stage=C.THREAT_STAGE_MAHNUNG,
                                             date=(today - dt.timedelta(days=30)).isoformat(),
                                             source="Mahnschreiben Wohnungsgesellschaft mit Einwilligungsabschnitt"))
        resp = hub.cases(FACHSTELLE).OpenCase(req, metadata=STAFF, timeout=RPC_TIMEOUT)
        case = resp.case
        assert case.id, "no case id"
        assert case.status == CS.CASE_STATUS_OPEN, case.status
        assert case.owner_organisation_id == FACHSTELLE, case.owner_organisation_id
        persons = list(case.details.persons)
        assert len(persons) == 3 and all(p.person_id for p in persons), f"persons without ids: {persons}"
        rent = case.details.tenancy.rent
        assert (rent.base_rent_cents, rent.service_charge_advance_cents, rent.heating_advance_cents) == \
            (58000, 12000, 8000), rent
        assert case.details.arrears_cents == 156000
        assert case.details.stadtbezirk == CS.STADTBEZIRK_LINDEN_LIMMER
        s["open_req"] = req
        s["case_id"] = case.id
        s["person_ids"] = [p.person_id for p in persons]
        print(f"      case {case.id}, persons {s['person_ids']}")

    checks.run("Fachstelle opens the Frau K. case (OpenCase)", open_case, critical=True)
    case_id = s["case_id"]

    def replay_open_case():
        again = hub.cases(FACHSTELLE).OpenCase(s["open_req"], metadata=STAFF, timeout=RPC_TIMEOUT)
        assert again.case.id == case_id, f"replay gave case {again.case.id}, first call {case_id}"

    checks.run("replaying OpenCase with the same idempotency key returns the same case", replay_open_case)

    def reuse_key_other_request():
        other = CS.OpenCaseRequest()
        other.CopyFrom(s["open_req"])
        other.details.arrears_cents = 1
        expect_rpc_error(lambda: hub.cases(FACHSTELLE).OpenCase(other, timeout=RPC_TIMEOUT),
                         grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key")

    checks.run("same idempotency key with a different request is INVALID_ARGUMENT (idempotency_key)",
               reuse_key_other_request)

    # Subscribe as the Fachstelle from the beginning: backlog, then the live state changes below.
    collector = EventCollector(hub, FACHSTELLE, after_cursor=0)
    collector.start()

    # --- consents ------------------------------------------------------------------------------------------------
    valid_until = (today + dt.timedelta(days=180)).isoformat()

    def record_consents():
        s["consents"] = {}
        for org, extra, secrecy in ((JOBCENTER, [], False),
                                    (WOHNBAU, [], False),
                                    (SCHULDNERBERATUNG, [C.DATA_CATEGORY_INCOME_BENEFITS], True)):
            cats = BASE_CONSENT + extra
            resp = hub.consents(FACHSTELLE).RecordConsent(consent_pb2.RecordConsentRequest(
                idempotency_key=idem(), case_id=case_id, person_ids=s["person_ids"],
                recipient_organisation_ids=[org], categories=cats,
                purpose=consent_pb2.CONSENT_PURPOSE_WOHNUNGSSICHERUNG, form=consent_pb2.CONSENT_FORM_WRITTEN,
                evidence_reference="Einwilligung-2026-001", valid_until=valid_until,
                art9_explicit=False, secrecy_release=secrecy), metadata=STAFF, timeout=RPC_TIMEOUT)
            c = resp.consent
            assert c.id and c.case_id == case_id, c
            assert c.status == consent_pb2.CONSENT_STATUS_ACTIVE, consent_pb2.ConsentStatus.Name(c.status)
            assert list(c.recipient_organisation_ids) == [org], c.recipient_organisation_ids
            assert sorted(c.categories) == sorted(cats), c.categories
            assert c.valid_until == valid_until, c.valid_until
            s["consents"][org] = c.id
            print(f"      consent {c.id} for {org}")

    checks.run("Fachstelle records consents for jobcenter, wohnbau-nord, schuldnerberatung", record_consents,
               critical=True)

    def list_consents():
        resp = hub.consents(FACHSTELLE).ListConsents(consent_pb2.ListConsentsRequest(case_id=case_id),
                                                     timeout=RPC_TIMEOUT)
        assert [c.id for c in resp.consents] == list(s["consents"].values()), resp.consents

    checks.run("ListConsents returns the 3 consents oldest first", list_consents)

    # --- referrals -----------------------------------------------------------------------------------------------
    reply_by = (today + dt.timedelta(days=14)).isoformat()

    def create(org, category, data_categories, message):
        resp = hub.referrals(FACHSTELLE).CreateReferral(R.CreateReferralRequest(
            idempotency_key=idem(), case_id=case_id, recipient_organisation_id=org, category=category,
            data_categories=data_categories, message=message, reply_by=reply_by), metadata=STAFF,
            timeout=RPC_TIMEOUT)
        ref = resp.referral
        assert ref.id, "no referral id"
        assert ref.state == C.REFERRAL_STATE_REQUESTED, state_name(ref.state)
        assert ref.recipient_organisation_id == org and ref.sender_organisation_id == FACHSTELLE, ref
        disclosed = {d.category: d for d in ref.disclosures}
        assert sorted(disclosed) == sorted(data_categories), f"disclosures {list(ref.disclosures)}"
        assert all(d.in_force for d in ref.disclosures), ref.disclosures
        print(f"      referral {ref.id} to {org} ({C.ReferralCategory.Name(category)})")
        return ref

    def create_jobcenter():
        ref = create(JOBCENTER, C.REFERRAL_CATEGORY_RENT_DEBT_TAKEOVER_SGB2,
                     [C.DATA_CATEGORY_IDENTITY, C.DATA_CATEGORY_CONTACT, C.DATA_CATEGORY_TENANCY,
                      C.DATA_CATEGORY_ARREARS, C.DATA_CATEGORY_INCOME_BENEFITS],
                     "Bitte Übernahme der Mietschulden nach §22 Abs. 8 SGB II prüfen: Rückstand 1.560,00 EUR "
                     "(156000 Cent, Mieten Nov./Dez.). Bürgergeld ist beantragt.")
        ib = next(d for d in ref.disclosures if d.category == C.DATA_CATEGORY_INCOME_BENEFITS)
        assert ib.basis_kind == R.LEGAL_BASIS_KIND_STATUTE and ib.statute, \
            f"INCOME_BENEFITS to the Jobcenter should rest on a statute (no consent covers it): {ib}"
        s["ref_jc"] = ref.id

    def create_debt_counselling():
        ref = create(SCHULDNERBERATUNG, C.REFERRAL_CATEGORY_DEBT_COUNSELLING,
                     [C.DATA_CATEGORY_IDENTITY, C.DATA_CATEGORY_CONTACT, C.DATA_CATEGORY_ARREARS,
                      C.DATA_CATEGORY_INCOME_BENEFITS],
                     "Bitte Schuldnerberatung anbieten; weitere Schulden ca. 4.200 EUR.")
        for d in ref.disclosures:
            assert d.basis_kind == R.LEGAL_BASIS_KIND_CONSENT and d.consent_id == s["consents"][SCHULDNERBERATUNG], \
                f"debt counselling is a private recipient: every category needs its consent, got {d}"
        s["ref_sb"] = ref.id

    def create_landlord():
        ref = create(WOHNBAU, C.REFERRAL_CATEGORY_LANDLORD_AGREEMENT,
                     [C.DATA_CATEGORY_IDENTITY, C.DATA_CATEGORY_TENANCY, C.DATA_CATEGORY_ARREARS,
                      C.DATA_CATEGORY_OUTCOME],
                     "Bitte Kündigung zurückstellen; Mietschuldenübernahme beim Jobcenter beantragt.")
        for d in ref.disclosures:
            assert d.basis_kind == R.LEGAL_BASIS_KIND_CONSENT and d.consent_id == s["consents"][WOHNBAU], \
                f"housing company is a private recipient: every category needs its consent, got {d}"
        s["ref_wb"] = ref.id

    checks.run("CreateReferral RENT_DEBT_TAKEOVER_SGB2 to jobcenter-hannover", create_jobcenter, critical=True)
    checks.run("CreateReferral DEBT_COUNSELLING to schuldnerberatung-nord", create_debt_counselling, critical=True)
    checks.run("CreateReferral LANDLORD_AGREEMENT to wohnbau-nord", create_landlord, critical=True)

    def move(org, ref_id, mv, expect_state, **kw):
        resp = hub.referrals(org).TransitionReferral(R.TransitionReferralRequest(
            idempotency_key=idem(), referral_id=ref_id, move=mv, **kw), metadata=STAFF, timeout=RPC_TIMEOUT)
        got = resp.referral.state
        assert got == expect_state, f"{C.ReferralMove.Name(mv)} gave {state_name(got)}, expected " \
                                    f"{state_name(expect_state)}"
        return resp.referral

    def moves(org, ref_id, steps):
        def fn():
            ref = None
            for mv, st, kw in steps:
                ref = move(org, ref_id, mv, st, **kw)
                print(f"      {org}: {C.ReferralMove.Name(mv)} -> {state_name(st)}")
            return ref
        return fn

    ack_accept_start = [
        (C.REFERRAL_MOVE_ACKNOWLEDGE, C.REFERRAL_STATE_RECEIVED, {}),
        (C.REFERRAL_MOVE_ACCEPT, C.REFERRAL_STATE_ACCEPTED, {}),
        (C.REFERRAL_MOVE_START, C.REFERRAL_STATE_IN_PROGRESS, {}),
    ]

    def illegal_move():
        e = expect_rpc_error(lambda: move(JOBCENTER, s["ref_jc"], C.REFERRAL_MOVE_COMPLETE,
                                          C.REFERRAL_STATE_COMPLETED,
                                          outcome=C.CompletionOutcome(result=C.COMPLETION_RESULT_APPROVED_LOAN)),
                             grpc.StatusCode.FAILED_PRECONDITION)
        assert "REQUESTED" in e.details() and "ACKNOWLEDGE" in e.details(), e.details()

    checks.run("illegal move (COMPLETE on REQUESTED) is FAILED_PRECONDITION naming state and allowed moves",
               illegal_move)

    jc_outcome = C.CompletionOutcome(result=C.COMPLETION_RESULT_APPROVED_LOAN, amount_cents=156000,
                                     effective_date=today.isoformat(),
                                     summary="Darlehen nach §22 Abs. 8 SGB II bewilligt, Zahlung an den Vermieter.")

    def jobcenter_flow():
        ref = moves(JOBCENTER, s["ref_jc"], ack_accept_start + [
            (C.REFERRAL_MOVE_COMPLETE, C.REFERRAL_STATE_COMPLETED, {"outcome": jc_outcome})])()
        assert ref.outcome.result == C.COMPLETION_RESULT_APPROVED_LOAN, ref.outcome
        assert ref.outcome.HasField("amount_cents") and ref.outcome.amount_cents == 156000, ref.outcome
        assert ref.outcome.effective_date == today.isoformat(), ref.outcome
        hist = [(t.move, t.to_state, t.actor_organisation_id) for t in ref.history]
        want = [(C.REFERRAL_MOVE_ACKNOWLEDGE, C.REFERRAL_STATE_RECEIVED, JOBCENTER),
                (C.REFERRAL_MOVE_ACCEPT, C.REFERRAL_STATE_ACCEPTED, JOBCENTER),
                (C.REFERRAL_MOVE_START, C.REFERRAL_STATE_IN_PROGRESS, JOBCENTER),
                (C.REFERRAL_MOVE_COMPLETE, C.REFERRAL_STATE_COMPLETED, JOBCENTER)]
        assert hist[-4:] == want, f"history {hist}"
        assert all(t.staff_member == STAFF[0][1] for t in ref.history[-4:]), \
            f"x-staff-member not recorded: {[t.staff_member for t in ref.history]}"

    checks.run("jobcenter acknowledges, accepts, starts, completes APPROVED_LOAN 156000", jobcenter_flow,
               critical=True)
    checks.run("schuldnerberatung acknowledges, accepts, starts",
               moves(SCHULDNERBERATUNG, s["ref_sb"], ack_accept_start), critical=True)
    checks.run("wohnbau-nord acknowledges, accepts, starts", moves(WOHNBAU, s["ref_wb"], ack_accept_start),
               critical=True)

    # --- per-recipient views -------------------------------------------------------------------------------------
    def landlord_view():
        ref = hub.referrals(WOHNBAU).GetReferral(R.GetReferralRequest(referral_id=s["ref_wb"]),
                                                 metadata=STAFF, timeout=RPC_TIMEOUT).referral
        v = ref.case_view
        assert v.income_benefits_note == "", f"housing company sees income_benefits_note {v.income_benefits_note!r}"
        assert v.health_note == "", f"housing company sees health_note {v.health_note!r}"
        assert v.counselling_note == "", f"housing company sees counselling_note {v.counselling_note!r}"
        forbidden = {C.DATA_CATEGORY_INCOME_BENEFITS, C.DATA_CATEGORY_HEALTH, C.DATA_CATEGORY_COUNSELLING_NOTES}
        assert not forbidden & set(v.readable_categories), f"readable {list(v.readable_categories)}"
        assert [p.family_name for p in v.persons].count("Kaiser") == 3, f"IDENTITY missing: {list(v.persons)}"
        assert v.HasField("arrears_cents") and v.arrears_cents == 156000, "ARREARS missing"
        assert v.tenancy.tenancy_reference == "WN-0815-4711", "TENANCY missing"
        takeovers = [o for o in v.outcomes if o.topic == "RENT_DEBT_TAKEOVER"]
        assert takeovers, f"no RENT_DEBT_TAKEOVER outcome in {list(v.outcomes)}"
        o = takeovers[0]
        assert o.result == C.COMPLETION_RESULT_APPROVED_LOAN, C.CompletionResult.Name(o.result)
        assert o.HasField("amount_cents") and o.amount_cents == 156000, o
        assert o.effective_date == today.isoformat(), o

    checks.run("wohnbau-nord's case_view: no income/health/counselling notes; outcome RENT_DEBT_TAKEOVER approved "
               "156000", landlord_view)

    def jobcenter_view():
        ref = hub.referrals(JOBCENTER).GetReferral(R.GetReferralRequest(referral_id=s["ref_jc"]),
                                                   timeout=RPC_TIMEOUT).referral
        v = ref.case_view
        assert v.income_benefits_note, "INCOME_BENEFITS (statute) missing for the Jobcenter"
        assert v.health_note == "" and v.counselling_note == "", "Jobcenter sees health or counselling notes"
        assert v.address.street == "Beispielstraße" and not v.address_withheld, v.address
        assert list(ref.allowed_moves) == [], f"recipient of a COMPLETED referral has moves {list(ref.allowed_moves)}"

    checks.run("jobcenter's case_view has income/benefits (statute) but no health/counselling notes",
               jobcenter_view)

    def sender_view():
        ref = hub.referrals(FACHSTELLE).GetReferral(R.GetReferralRequest(referral_id=s["ref_jc"]),
                                                    timeout=RPC_TIMEOUT).referral
        assert ref.state == C.REFERRAL_STATE_COMPLETED, state_name(ref.state)
        assert not ref.case_view.persons and not ref.case_view.income_benefits_note, \
            "case_view should be empty for the sender"

    checks.run("sender sees the completed referral without a case_view", sender_view)

    # --- access control ------------------------------------------------------------------------------------------
    def uninvolved_not_found():
        e1 = expect_rpc_error(lambda: hub.referrals(FRAUENBERATUNG).GetReferral(
            R.GetReferralRequest(referral_id=s["ref_jc"]), timeout=RPC_TIMEOUT), grpc.StatusCode.NOT_FOUND)
        e2 = expect_rpc_error(lambda: hub.referrals(FRAUENBERATUNG).GetReferral(
            R.GetReferralRequest(referral_id=str(uuid.uuid4())), timeout=RPC_TIMEOUT), grpc.StatusCode.NOT_FOUND)
        assert e1.details() == e2.details(), f"messages differ: {e1.details()!r} vs {e2.details()!r}"
        assert "referral not found" in e1.details(), e1.details()

    checks.run("GetReferral by uninvolved frauenberatung-hannover is NOT_FOUND like a missing one",
               uninvolved_not_found)

    def jobcenter_case_denied():
        expect_rpc_error(lambda: hub.cases(JOBCENTER).GetCase(CS.GetCaseRequest(case_id=case_id),
                                                              timeout=RPC_TIMEOUT),
                         grpc.StatusCode.PERMISSION_DENIED)
        expect_rpc_error(lambda: hub.cases(JOBCENTER).ListCases(CS.ListCasesRequest(), timeout=RPC_TIMEOUT),
                         grpc.StatusCode.PERMISSION_DENIED)

    checks.run("CaseService (GetCase, ListCases) as the Jobcenter is PERMISSION_DENIED", jobcenter_case_denied)

    def deliveries_fachstelle_only():
        # Every partner here is a gRPC partner, so the outbox holds no mail for this case.
        resp = hub.deliveries(FACHSTELLE).ListDeliveries(deliveries_pb2.ListDeliveriesRequest(), timeout=RPC_TIMEOUT)
        assert list(resp.deliveries) == [], resp
        expect_rpc_error(lambda: hub.deliveries(JOBCENTER).ListDeliveries(deliveries_pb2.ListDeliveriesRequest(),
                                                                           timeout=RPC_TIMEOUT),
                         grpc.StatusCode.PERMISSION_DENIED)
        e = expect_rpc_error(lambda: hub.deliveries(FACHSTELLE).RequeueDelivery(
            deliveries_pb2.RequeueDeliveryRequest(idempotency_key=str(uuid.uuid4()), delivery_id="kein-uuid"),
            timeout=RPC_TIMEOUT), grpc.StatusCode.INVALID_ARGUMENT)
        assert "delivery_id" in e.details(), e.details()

    checks.run("DeliveryService: the Fachstelle lists deliveries (none for gRPC partners), the Jobcenter may not, "
               "a malformed id is INVALID_ARGUMENT", deliveries_fachstelle_only)

    def jobcenter_inbox():
        resp = hub.referrals(JOBCENTER).ListReferrals(R.ListReferralsRequest(mailbox=R.MAILBOX_INBOX),
                                                      timeout=RPC_TIMEOUT)
        assert [r.id for r in resp.referrals] == [s["ref_jc"]], [r.id for r in resp.referrals]

    checks.run("jobcenter's inbox lists exactly its referral", jobcenter_inbox)

    # --- finish the partners' work -------------------------------------------------------------------------------
    checks.run("wohnbau-nord completes AGREEMENT_REACHED", moves(WOHNBAU, s["ref_wb"], [
        (C.REFERRAL_MOVE_COMPLETE, C.REFERRAL_STATE_COMPLETED, {"outcome": C.CompletionOutcome(
            result=C.COMPLETION_RESULT_AGREEMENT_REACHED, effective_date=today.isoformat(),
            summary="Kündigung zurückgestellt; Fortsetzung des Mietverhältnisses nach Ausgleich bestätigt.")})]))
    checks.run("schuldnerberatung completes SERVICE_PROVIDED", moves(SCHULDNERBERATUNG, s["ref_sb"], [
        (C.REFERRAL_MOVE_COMPLETE, C.REFERRAL_STATE_COMPLETED, {"outcome": C.CompletionOutcome(
            result=C.COMPLETION_RESULT_SERVICE_PROVIDED, summary="Beratung aufgenommen.")})]))

    # --- events --------------------------------------------------------------------------------------------------
    expected_states = [C.REFERRAL_STATE_RECEIVED, C.REFERRAL_STATE_ACCEPTED, C.REFERRAL_STATE_IN_PROGRESS,
                       C.REFERRAL_STATE_COMPLETED]

    def changes(events, ref_id):
        # REQUESTED (creation) is announced as REFERRAL_CREATED; tolerate a server that also sends it as a change.
        return [e.state for e in events
                if e.kind == events_pb2.EVENT_KIND_REFERRAL_STATE_CHANGED and e.referral_id == ref_id
                and e.state != C.REFERRAL_STATE_REQUESTED]

    def have_all(events):
        return all(changes(events, s[k]) == expected_states for k in ("ref_jc", "ref_sb", "ref_wb"))

    def fachstelle_events():
        complete = collector.wait_for(have_all, timeout=15)
        evs = list(collector.events)
        collector.stop()
        if collector.error is not None:
            raise collector.error
        cursors = [e.cursor for e in evs]
        assert all(a < b for a, b in zip(cursors, cursors[1:])), f"cursors not strictly increasing: {cursors}"
        for k in ("ref_jc", "ref_sb", "ref_wb"):
            got = [state_name(x) for x in changes(evs, s[k])]
            assert complete, f"state changes of {s[k]}: {got}, expected {[state_name(x) for x in expected_states]}"
        created = {e.referral_id for e in evs if e.kind == events_pb2.EVENT_KIND_REFERRAL_CREATED}
        assert {s["ref_jc"], s["ref_sb"], s["ref_wb"]} <= created, f"REFERRAL_CREATED for {created}"
        assert all(e.case_id == case_id for e in evs if e.referral_id), "event with a foreign case id"
        s["events"] = evs
        print(f"      {len(evs)} events, cursors {cursors[0]}..{cursors[-1]}")

    checks.run("Fachstelle's event stream has every state change, cursors strictly increasing", fachstelle_events)

    def resume_from_cursor():
        evs = s["events"]
        mid = evs[len(evs) // 2].cursor
        want = [e.cursor for e in evs if e.cursor > mid]
        call = hub.events(FACHSTELLE).Subscribe(events_pb2.SubscribeRequest(after_cursor=mid), timeout=15)
        got = []
        try:
            for msg in call:
                got.append(msg.event.cursor)
                if len(got) >= len(want):
                    break
        finally:
            call.cancel()
        assert got == want, f"after cursor {mid}: got {got}, expected {want}"

    checks.run("Subscribe(after_cursor) resumes after the cursor", resume_from_cursor)

    # --- close ---------------------------------------------------------------------------------------------------
    def close_case():
        resp = hub.cases(FACHSTELLE).CloseCase(CS.CloseCaseRequest(
            idempotency_key=idem(), case_id=case_id, outcome=CS.CASE_OUTCOME_WOHNUNG_ERHALTEN,
            rescue_means=CS.RESCUE_MEANS_SGB2_LOAN, note="Mietverhältnis gesichert, vor jeder Kündigung."),
            metadata=STAFF, timeout=RPC_TIMEOUT)
        assert resp.case.status == CS.CASE_STATUS_CLOSED, resp.case.status
        assert resp.case.outcome == CS.CASE_OUTCOME_WOHNUNG_ERHALTEN, resp.case.outcome
        assert resp.case.rescue_means == CS.RESCUE_MEANS_SGB2_LOAN, resp.case.rescue_means
        assert list(resp.cancelled_referral_ids) == [], f"cancelled {list(resp.cancelled_referral_ids)}"

    checks.run("Fachstelle closes the case WOHNUNG_ERHALTEN / SGB2_LOAN", close_case)

    def closed_in_list():
        resp = hub.cases(FACHSTELLE).ListCases(CS.ListCasesRequest(status=CS.CASE_STATUS_CLOSED),
                                               timeout=RPC_TIMEOUT)
        mine = [c for c in resp.cases if c.id == case_id]
        assert mine and mine[0].open_referrals == 0, list(resp.cases)

    checks.run("ListCases(CLOSED) shows the case with no open referrals", closed_in_list)


if __name__ == "__main__":
    sys.exit(main())
