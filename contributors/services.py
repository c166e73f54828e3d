"""Writes about contributors: profile, qualification attempts, trust evidence, status, identity, privacy.

``record_gold_answer`` and ``record_consensus_agreement`` are the interface the consensus workers call
to feed trust; the trust formula and the automatic suspension rule live here (see ``trust_formula``).
"""
from __future__ import annotations

import hashlib
import hmac
import random
from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Action as Audit
from audit.services import record as record_audit
from core.schema import SchemaError
from tasks.types import get_task_type

from .models import (
    ContributorProfile,
    DeviceSighting,
    FraudSignal,
    IdentityDocument,
    ProfileChange,
    Qualification,
    QualificationAttempt,
    QualificationItem,
    QualificationTest,
    StatusChange,
    TrustScore,
)
from .selectors import qualification_state, verification_level

PROFILE_FIELDS = [
    "display_name", "birth_year", "gender", "region", "province", "dialect", "languages", "device_type",
]


class ContributorError(Exception):
    """A refused contributor action; ``code`` for the API, ``message`` for people, ``field`` if one is to blame."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# --- profile ---------------------------------------------------------------------------------


def ensure_profile(user) -> ContributorProfile:
    profile, _created = ContributorProfile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def update_profile(*, user, data: dict, consent: bool, changed_by=None) -> ContributorProfile:
    """Save profile fields (already validated by the form) and keep the changed fields in history."""
    profile = ContributorProfile.objects.select_for_update().get(pk=ensure_profile(user).pk)
    changes = {}
    for name in PROFILE_FIELDS:
        if name not in data:
            continue
        old, new = getattr(profile, name), data[name]
        if old != new:
            changes[name] = [old, new]
            setattr(profile, name, new)
    if consent and profile.consent_version != settings.CONTRIBUTOR_TERMS_VERSION:
        now = timezone.now()
        changes["consent_version"] = [profile.consent_version, settings.CONTRIBUTOR_TERMS_VERSION]
        profile.consent_version = settings.CONTRIBUTOR_TERMS_VERSION
        profile.consent_at = now
    if changes:
        profile.save()
        ProfileChange.objects.create(profile=profile, changed_by=changed_by or user, changes=changes)
    return profile


# --- status ----------------------------------------------------------------------------------


@transaction.atomic
def change_status(*, profile: ContributorProfile, status: str, reason: str, by=None,
                  ip: str | None = None) -> ContributorProfile:
    """Suspend, reinstate or ban, with a reason the contributor sees; ``by=None`` means an automatic rule."""
    reason = (reason or "").strip()
    if status not in ContributorProfile.Status.values or status == ContributorProfile.Status.ERASED:
        raise ContributorError("status", _("Unknown status."), "status")
    if status != ContributorProfile.Status.ACTIVE and not reason:
        raise ContributorError("reason", _("Give the contributor a reason."), "status_reason")
    locked = ContributorProfile.objects.select_for_update().get(pk=profile.pk)
    if locked.status == ContributorProfile.Status.ERASED:
        raise ContributorError("erased", _("This contributor's personal data was erased."), "status")
    if locked.status == status and locked.status_reason == reason:
        return locked
    previous = locked.status
    StatusChange.objects.create(
        profile=locked, from_status=locked.status, to_status=status, reason=reason or _("Reinstated."), changed_by=by
    )
    if status == ContributorProfile.Status.ACTIVE and locked.status != status:
        # A fresh start: without this the next gold answer would re-trigger the automatic rule.
        TrustScore.objects.filter(contributor=locked).update(recent_gold=[])
    locked.status = status
    locked.status_reason = reason if status != ContributorProfile.Status.ACTIVE else ""
    locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    record_audit(action=Audit.CONTRIBUTOR_STATUS_CHANGED, by=by, ip=ip, subject=locked.user,
                 target=f"contributors.contributorprofile:{locked.pk}",
                 detail={"pseudonym": locked.pseudonym, "from": previous, "to": status, "reason": reason})
    profile.status, profile.status_reason = locked.status, locked.status_reason
    return locked


# --- trust -----------------------------------------------------------------------------------


def trust_formula(*, gold_seen: int, gold_correct: int, consensus_seen: int, consensus_agreed: int) -> float:
    """Trust in [0, 1]: a smoothed accuracy where a gold answer weighs ``g`` and a consensus check 1.

        trust = (g·gold_correct + consensus_agreed + k·p) / (g·gold_seen + consensus_seen + k)

    with g = CONTRIBUTOR_TRUST_GOLD_WEIGHT (2: gold is ground truth, consensus can itself be wrong),
    p = CONTRIBUTOR_TRUST_PRIOR (0.5, a newcomer's score) and k = CONTRIBUTOR_TRUST_PRIOR_WEIGHT (4: the
    prior counts like four consensus checks, so two answers cannot swing a newcomer to 0 or 1).
    """
    g = settings.CONTRIBUTOR_TRUST_GOLD_WEIGHT
    k = settings.CONTRIBUTOR_TRUST_PRIOR_WEIGHT
    p = settings.CONTRIBUTOR_TRUST_PRIOR
    return (g * gold_correct + consensus_agreed + k * p) / (g * gold_seen + consensus_seen + k)


def suspension_due(recent_gold: list[int]) -> float | None:
    """The window's gold accuracy when it is below the threshold with enough answers, else None."""
    window = recent_gold[-settings.CONTRIBUTOR_SUSPEND_WINDOW:]
    if len(window) < settings.CONTRIBUTOR_SUSPEND_MIN_GOLD:
        return None
    accuracy = sum(window) / len(window)
    return accuracy if accuracy < settings.CONTRIBUTOR_SUSPEND_BELOW else None


def _locked_trust(profile: ContributorProfile, task_type: str) -> TrustScore:
    TrustScore.objects.get_or_create(contributor=profile, task_type=task_type)
    return TrustScore.objects.select_for_update().get(contributor=profile, task_type=task_type)


def _rescore(trust: TrustScore) -> None:
    trust.score = trust_formula(
        gold_seen=trust.gold_seen, gold_correct=trust.gold_correct,
        consensus_seen=trust.consensus_seen, consensus_agreed=trust.consensus_agreed,
    ) * authenticity_penalty(trust.open_flags)


# --- authenticity flags (the authenticity app counts them; trust applies the penalty) ---------------


def authenticity_penalty(flags: int) -> float:
    """Repeated authenticity flags lower trust: the first is a warning, each further one takes 10% off
    (never below half), and a reviewer clearing a flag as human-written gives the trust back."""
    return max(0.5, 1.0 - 0.1 * max(0, flags - 1))


def record_authenticity_flags(*, user, task_type: str, open_flags: int) -> None:
    """An answer was flagged (or a flag reviewed) by the authenticity scorer: keep its count of this
    contributor's open flags for the task type (the authenticity app counts them) and recompute trust."""
    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None:
        return
    with transaction.atomic():
        trust = _locked_trust(profile, task_type)
        trust.open_flags = open_flags
        _rescore(trust)
        trust.save()


def record_gold_answer(*, user, task_type: str, correct: bool) -> None:
    """A contributor answered a gold (honeypot) item: update trust and apply the automatic suspension rule."""
    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None:
        return
    with transaction.atomic():
        # Lock order profile → trust row, as change_status does, so a reinstatement racing a gold answer
        # cannot deadlock; it also serialises one contributor's gold answers for the window.
        profile = ContributorProfile.objects.select_for_update().get(pk=profile.pk)
        trust = _locked_trust(profile, task_type)
        trust.gold_seen += 1
        trust.gold_correct += int(bool(correct))
        trust.recent_gold = (list(trust.recent_gold) + [int(bool(correct))])[-settings.CONTRIBUTOR_SUSPEND_WINDOW:]
        _rescore(trust)
        trust.save()
        accuracy = suspension_due(trust.recent_gold)
        if accuracy is not None and profile.status == ContributorProfile.Status.ACTIVE:

            try:
                label = str(get_task_type(task_type).label)
            except SchemaError:
                label = task_type
            change_status(
                profile=profile,
                status=ContributorProfile.Status.SUSPENDED,
                reason=_(
                    "Automatic: your accuracy on check questions for %(type)s was %(acc)d%% over your last "
                    "%(n)d checks (the minimum is %(min)d%%). Staff will review your work."
                ) % {
                    "type": label, "acc": round(accuracy * 100), "n": len(trust.recent_gold),
                    "min": round(settings.CONTRIBUTOR_SUSPEND_BELOW * 100),
                },
            )


def record_consensus_agreement(*, user, task_type: str, agreed: bool) -> None:
    """A contributor's answer matched (or not) a finalised consensus; feeds trust."""
    profile = ContributorProfile.objects.filter(user=user).first()
    if profile is None:
        return
    with transaction.atomic():
        trust = _locked_trust(profile, task_type)
        trust.consensus_seen += 1
        trust.consensus_agreed += int(bool(agreed))
        _rescore(trust)
        trust.save()


def record_consensus_agreements(*, task_type: str, counts: dict[int, tuple[int, int]]) -> None:
    """Bulk form of ``record_consensus_agreement`` for a campaign re-score: ``{user_id: (seen, agreed)}``.

    The contributors' trust rows are created if missing, locked and rewritten together (a re-score may
    finalise 100k items for 2k contributors), with the same formula as ``_rescore``.
    """
    wanted = {u: c for u, c in counts.items() if c[0] > 0}
    if not wanted:
        return
    with transaction.atomic():
        profiles = list(ContributorProfile.objects.filter(user_id__in=list(wanted)).only("id", "user_id"))
        TrustScore.objects.bulk_create(
            [TrustScore(contributor=p, task_type=task_type) for p in profiles], ignore_conflicts=True
        )
        rows = list(
            TrustScore.objects.select_for_update().select_related("contributor")
            .filter(contributor__in=profiles, task_type=task_type).order_by("id")
        )
        now = timezone.now()
        for trust in rows:
            user_id = trust.contributor.user_id
            seen, agreed = wanted[user_id]
            trust.consensus_seen += int(seen)
            trust.consensus_agreed += int(agreed)
            trust.score = trust_formula(
                gold_seen=trust.gold_seen, gold_correct=trust.gold_correct,
                consensus_seen=trust.consensus_seen, consensus_agreed=trust.consensus_agreed,
            ) * authenticity_penalty(trust.open_flags)
            trust.updated_at = now
        TrustScore.objects.bulk_update(
            rows, ["consensus_seen", "consensus_agreed", "score", "updated_at"], batch_size=1000
        )


# --- qualification tests -----------------------------------------------------------------------


def _attempt_refusal(profile: ContributorProfile, test: QualificationTest, now) -> ContributorError | None:

    state = qualification_state(profile, test, now=now)
    if state["can_start"]:
        return None
    return ContributorError(state["code"], state["reason"])


@transaction.atomic
def start_qualification_attempt(*, user, task_type: str, rng: random.Random | None = None) -> QualificationAttempt:
    """Open (or resume) an attempt at a task type's test; refuses with the reason when not allowed."""

    test = QualificationTest.objects.filter(task_type=task_type, is_active=True).first()
    if test is None:
        raise ContributorError("not_found", _("There is no qualification test for this task type."))
    profile = ensure_profile(user)
    # Serialise concurrent starts of one contributor (two tabs) on their profile row.
    profile = ContributorProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.status != ContributorProfile.Status.ACTIVE:
        raise ContributorError("suspended", _("Your account is %(status)s: %(reason)s") % {
            "status": profile.get_status_display(), "reason": profile.status_reason or "-"})
    if verification_level(user, profile) < 2:
        raise ContributorError("verification", _("Verify your e-mail and complete your profile first."))
    open_attempt = QualificationAttempt.objects.filter(
        test=test, profile=profile, state=QualificationAttempt.State.OPEN
    ).first()
    if open_attempt is not None:
        return open_attempt
    refusal = _attempt_refusal(profile, test, timezone.now())
    if refusal is not None:
        raise refusal
    items = list(test.items.all())
    if not items:
        raise ContributorError("empty", _("This qualification test has no questions yet."))
    rng = rng or random.Random()
    rng.shuffle(items)
    task = test.task
    return QualificationAttempt.objects.create(
        test=test,
        profile=profile,
        number=QualificationAttempt.objects.filter(test=test, profile=profile).count() + 1,
        item_ids=[item.pk for item in items],
        views=[task.prepare_view(item_payload=item.payload, config=test.config, rng=rng) for item in items],
        total=len(items),
    )


def submit_qualification_attempt(*, user, attempt_id: int, answers) -> QualificationAttempt:
    """Grade every answer with the task type's own checks; all or nothing, and only once."""
    with transaction.atomic():
        attempt = (
            QualificationAttempt.objects.select_for_update()
            .select_related("test", "profile")
            .get(pk=attempt_id, profile__user=user)  # another contributor's attempt: DoesNotExist (404)
        )
        if attempt.state != QualificationAttempt.State.OPEN:
            raise ContributorError(
                "already_submitted",
                _("This attempt was already submitted (score %(score)d%%).") % {"score": round(attempt.score * 100)},
            )
        if not isinstance(answers, list) or len(answers) != len(attempt.item_ids):
            raise ContributorError(
                "invalid", _("Answer every question (%(n)d answers expected).") % {"n": len(attempt.item_ids)},
                "answers",
            )
        test = attempt.test
        task = test.task
        items = {item.pk: item for item in test.items.filter(pk__in=attempt.item_ids)}
        views = attempt.views or [{}] * len(attempt.item_ids)
        cleaned, correct = [], 0
        for index, (item_id, answer, view) in enumerate(zip(attempt.item_ids, answers, views, strict=True)):
            item = items.get(item_id)
            if item is None:  # the manager removed the question meanwhile: not held against anyone
                cleaned.append(None)
                continue
            try:
                value = task.validate_annotation(answer, config=test.config, item_payload=item.payload, view=view)
            except SchemaError as exc:
                field = f"answers[{index}]" + (f".{exc.field}" if exc.field else "")
                raise ContributorError(
                    "invalid", _("Question %(n)d: %(message)s") % {"n": index + 1, "message": exc.message}, field
                ) from exc
            cleaned.append(value)
            correct += int(bool(task.is_correct(value, item.gold_answer, config=test.config)))
        total = sum(1 for value in cleaned if value is not None)
        attempt.answers = cleaned
        attempt.correct = correct
        attempt.total = total
        attempt.score = correct / total if total else 0.0
        attempt.state = (
            QualificationAttempt.State.PASSED if total and attempt.score >= test.pass_mark
            else QualificationAttempt.State.FAILED
        )
        attempt.submitted_at = timezone.now()
        attempt.save()
        if attempt.state == QualificationAttempt.State.PASSED:
            Qualification.objects.update_or_create(
                profile=attempt.profile, task_type=test.task_type,
                defaults={"score": attempt.score, "attempt": attempt, "granted_at": attempt.submitted_at},
            )
    return attempt


@transaction.atomic
def create_qualification_test(
    *, task_type: str, title: str, items: list[dict], pass_mark: float = 0.8, max_attempts: int = 3,
    cooldown_minutes: int = 60, config: dict | None = None, instructions: str = "",
) -> QualificationTest:
    """A test with its gold items, each checked by the task type; any bad item and nothing is stored."""


    task = get_task_type(task_type)
    config = task.validate_config(config or {})
    if not 0 < pass_mark <= 1:
        raise SchemaError("pass_mark", _("The pass mark is a share between 0 and 1."))
    if not items:
        raise SchemaError("items", _("A qualification test needs at least one question."))
    test = QualificationTest.objects.create(
        task_type=task_type, title=title, config=config, pass_mark=pass_mark, max_attempts=max_attempts,
        cooldown_minutes=cooldown_minutes, instructions=instructions,
    )
    rows = []
    for index, entry in enumerate(items):
        try:
            payload = task.validate_item(entry["payload"], config)
            gold = task.validate_gold(entry["gold_answer"], config, payload)
        except SchemaError as exc:
            raise SchemaError(f"items[{index}].{exc.field}".rstrip("."), exc.message) from exc
        rows.append(QualificationItem(test=test, position=index, payload=payload, gold_answer=gold))
    QualificationItem.objects.bulk_create(rows)
    return test


def grant_qualification(*, profile: ContributorProfile, task_type: str, by=None, score: float | None = None):
    """Staff (or the demo loader) qualify a contributor without the test."""
    qualification, _created = Qualification.objects.get_or_create(
        profile=profile, task_type=task_type, defaults={"granted_by": by, "score": score}
    )
    return qualification


# --- identity documents ------------------------------------------------------------------------

_SIGNATURES = [
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
]


def sniff_document(head: bytes) -> str | None:
    """The document's kind from its first bytes (the file name and browser's type are not trusted)."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _check_image(upload) -> bool:
    # Pillow loaded on first use, not in every web process.
    from PIL import Image, UnidentifiedImageError

    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    finally:
        upload.seek(0)
    return True


def upload_identity_document(*, user, upload) -> IdentityDocument:
    """Store an ID document privately for staff review; refuses anything but a real image or PDF."""

    profile = ensure_profile(user)
    if verification_level(user, profile) < 2:
        raise ContributorError("verification", _("Complete your profile before sending an identity document."))
    if profile.identity_verified_at:
        raise ContributorError("verified", _("Your identity is already verified."))
    if IdentityDocument.objects.filter(profile=profile, state=IdentityDocument.State.PENDING).exists():
        raise ContributorError("pending", _("Your previous document is still waiting for review."), "document")
    limit = settings.CONTRIBUTOR_ID_MAX_BYTES
    if upload.size > limit:
        raise ContributorError(
            "too_large", _("The file is too large (%(size)s MB; the limit is %(limit)s MB).") % {
                "size": f"{upload.size / 1048576:.1f}", "limit": f"{limit / 1048576:.0f}"},
            "document",
        )
    upload.seek(0)
    kind = sniff_document(upload.read(16))
    upload.seek(0)
    if kind is None or (kind != "pdf" and not _check_image(upload)):
        raise ContributorError(
            "bad_type", _("Send a photo (JPEG, PNG or WebP) or a PDF of your identity document."), "document"
        )
    document = IdentityDocument(profile=profile, file_kind=kind, size_bytes=upload.size)
    # The file is written before the row; if the row insert fails the orphan file is removed.
    document.file.save("upload", upload, save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def review_identity_document(*, document: IdentityDocument, approve: bool, reason: str = "", by=None):
    """Staff approve (level 4) or reject with a reason the contributor sees."""
    document = IdentityDocument.objects.select_for_update().select_related("profile").get(pk=document.pk)
    if document.state != IdentityDocument.State.PENDING:
        raise ContributorError("reviewed", _("This document was already reviewed."))
    if not approve and not (reason or "").strip():
        raise ContributorError("reason", _("Give the contributor a reason for the rejection."), "rejection_reason")
    now = timezone.now()
    document.state = IdentityDocument.State.APPROVED if approve else IdentityDocument.State.REJECTED
    document.rejection_reason = "" if approve else reason.strip()
    document.reviewed_by = by
    document.reviewed_at = now
    document.save()
    if approve:
        ContributorProfile.objects.filter(pk=document.profile_id).update(identity_verified_at=now)
    return document


def purge_identity_documents(*, now=None) -> int:
    """Delete document files reviewed more than the retention period ago (the decision row is kept)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CONTRIBUTOR_ID_RETENTION_DAYS)
    purged = 0
    for document in IdentityDocument.objects.filter(reviewed_at__lt=cutoff, file_deleted_at__isnull=True):
        if document.file:
            document.file.delete(save=False)
        document.file = ""
        document.file_deleted_at = now
        document.save(update_fields=["file", "file_deleted_at"])
        purged += 1
    return purged


# --- anti-fraud --------------------------------------------------------------------------------


def client_ip(request) -> str | None:
    """The client's IP as allauth's rate limits see it (honours ALLAUTH_TRUSTED_PROXY_COUNT)."""

    try:
        return get_adapter().get_client_ip(request)
    except PermissionDenied:
        return None


def fingerprint_digest(raw: str) -> str:
    """HMAC of the browser's fingerprint: comparable between accounts, not reversible to the raw traits."""
    raw = (raw or "").strip()[:512]
    if not raw:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


def signup_refusal(*, fingerprint: str, ip: str | None) -> str | None:
    """The platform's own sign-up limits (on top of allauth's): per device and per IP per day."""
    since = timezone.now() - timedelta(days=1)
    recent = DeviceSighting.objects.filter(event=DeviceSighting.Event.SIGNUP, created_at__gte=since)
    if fingerprint and recent.filter(fingerprint=fingerprint).count() >= settings.CONTRIBUTOR_SIGNUPS_PER_DEVICE_PER_DAY:
        return _("Too many accounts were created from this device today. Please try again tomorrow.")
    if ip and recent.filter(ip=ip).count() >= settings.CONTRIBUTOR_SIGNUPS_PER_IP_PER_DAY:
        return _("Too many accounts were created from this network today. Please try again tomorrow.")
    return None


def raise_fraud_signal(profile: ContributorProfile, kind: str, detail: dict, count: int = 1) -> None:
    """One open signal per contributor and kind; repeats fold into its count."""
    updated = FraudSignal.objects.filter(profile=profile, kind=kind, resolved=False).update(
        count=F("count") + count, detail=detail, updated_at=timezone.now()
    )
    if not updated:
        FraudSignal.objects.create(profile=profile, kind=kind, detail=detail, count=count)


def record_device_sighting(*, user, event: str, fingerprint: str, ip: str | None) -> DeviceSighting:
    """Remember where an account signed up or logged in; flag devices and IPs shared by several accounts."""
    sighting = DeviceSighting.objects.create(user=user, event=event, fingerprint=fingerprint, ip=ip or None)
    since = timezone.now() - timedelta(hours=settings.CONTRIBUTOR_FRAUD_WINDOW_HOURS)
    recent = DeviceSighting.objects.filter(created_at__gte=since)
    checks = [
        (FraudSignal.Kind.SHARED_DEVICE, "fingerprint", fingerprint, settings.CONTRIBUTOR_FRAUD_SHARED_DEVICE),
        (FraudSignal.Kind.SHARED_IP, "ip", ip, settings.CONTRIBUTOR_FRAUD_SHARED_IP),
    ]
    for kind, field, value, threshold in checks:
        if not value:
            continue
        user_ids = set(recent.filter(**{field: value}).values_list("user_id", flat=True).distinct())
        if len(user_ids) < threshold:
            continue
        profiles = list(ContributorProfile.objects.filter(user_id__in=user_ids))
        for profile in profiles:
            others = sorted(p.pseudonym for p in profiles if p.pk != profile.pk)
            raise_fraud_signal(profile, kind, {
                "accounts": len(user_ids), "others": others[:20],
                "window_hours": settings.CONTRIBUTOR_FRAUD_WINDOW_HOURS,
                field: value[:16] if field == "fingerprint" else value,
            })
    return sighting


# --- personal data -----------------------------------------------------------------------------


@transaction.atomic
def request_erasure(*, user) -> ContributorProfile:
    profile = ensure_profile(user)
    if not profile.erasure_requested_at:
        profile.erasure_requested_at = timezone.now()
        profile.save(update_fields=["erasure_requested_at", "updated_at"])
    return profile


def erase_personal_data(*, profile: ContributorProfile, by=None) -> ContributorProfile:
    """Erase a contributor's personal data; their annotations stay, linked only to the pseudonym.

    The AI teams paid for the annotations, so they are kept; what identifies the person (e-mail, name,
    birth year, place, devices, ID documents, profile history) is removed and the account closed.
    """

    files = []
    with transaction.atomic():
        profile = ContributorProfile.objects.select_for_update().select_related("user").get(pk=profile.pk)
        user = profile.user
        for document in profile.identity_documents.all():
            if document.file:
                files.append(document.file)
        profile.identity_documents.all().delete()
        profile.changes.all().delete()
        profile.fraud_signals.update(detail={})
        DeviceSighting.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        SocialAccount.objects.filter(user=user).delete()
        StatusChange.objects.create(
            profile=profile, from_status=profile.status, to_status=ContributorProfile.Status.ERASED,
            reason=_("Personal data erased on request."), changed_by=by,
        )
        for name in PROFILE_FIELDS:
            field = ContributorProfile._meta.get_field(name)
            setattr(profile, name, field.get_default() if not field.null else None)
        profile.consent_at = None
        profile.status = ContributorProfile.Status.ERASED
        profile.status_reason = _("Personal data erased on request.")
        profile.status_changed_at = timezone.now()
        profile.save()
        alias = f"{profile.pseudonym}@erased.invalid"
        user.username = alias
        user.email = alias
        user.first_name = user.last_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
    for stored in files:  # after commit: a rollback above must not lose the files
        stored.delete(save=False)
    return profile
