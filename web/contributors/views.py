"""Contributor pages under /me/: dashboard, profile, identity, qualification tests, personal data. Thin."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from annotations.models import Annotation
from assets.selectors import media_url_ttl, platform_media_urls, platform_video_frames
from audit.selectors import identity_access_for
from audit.services import Action as Audit
from audit.services import record, request_ip
from contributors import selectors, services
from contributors.models import IdentityDocument, QualificationAttempt, QualificationItem, QualificationTest
from organizations.access import Action, allows
from review import history as answer_history
from review.disputes import disputes_of
from tasks.types import all_task_types
from tasks.types.choices import choice_labels
from web.campaigns.views import render_instructions
from web.contributors import selectors as page_selectors
from web.contributors.contests import send_answer_contest, send_suspension_contest
from web.contributors.forms import IdentityDocumentForm, ProfileForm


@login_required
def dashboard(request):
    return render(request, "contributors/dashboard.html", page_selectors.dashboard(request.user))


@login_required
def profile(request):
    instance = services.ensure_profile(request.user)
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        first_time = not instance.is_complete
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        saved = services.update_profile(user=request.user, data=data, consent=bool(form.cleaned_data.get("consent")))
        messages.success(request, _("Your profile is saved."))
        if first_time and saved.is_complete:
            return redirect("contributor-dashboard")
        return redirect("contributor-profile")
    history = instance.changes.all()[:20] if instance.pk else []
    return render(request, "contributors/profile.html", {"form": form, "profile": instance, "history": history})


@login_required
def identity(request):
    profile = services.ensure_profile(request.user)
    form = IdentityDocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.upload_identity_document(user=request.user, upload=form.cleaned_data["document"])
        except services.ContributorError as exc:
            form.add_error("document" if exc.field == "document" else None, exc.message)
        else:
            messages.success(request, _("Thank you. Staff will review your document."))
            return redirect("contributor-identity")
    documents = profile.identity_documents.all()[:10]
    return render(request, "contributors/identity.html", {"form": form, "profile": profile, "documents": documents})


@login_required
def identity_document_file(request, document_id: int):
    """Platform staff with the identity action only: the private file, never cached, never from a public URL.
    Every opening is written to the audit log, which the contributor reads on their data page."""
    if not (allows(request.user, Action.CONTRIBUTOR_IDENTITY)
            and request.user.has_perm("contributors.view_identitydocument")):
        raise PermissionDenied
    document = get_object_or_404(IdentityDocument.objects.select_related("profile__user"), pk=document_id)
    if not document.file:
        raise Http404
    record(action=Audit.IDENTITY_DOWNLOADED, by=request.user, ip=request_ip(request), subject=document.profile.user,
           target=f"contributors.identitydocument:{document.pk}", detail={"purpose": "identity review"})
    kinds = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "pdf": "application/pdf"}
    response = FileResponse(document.file.open("rb"), content_type=kinds.get(document.file_kind, "application/octet-stream"))
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="identity-{document.pk}.{document.file_kind}"'
    return response


@login_required
def qualifications(request):
    profile = selectors.profile_for(request.user)
    tests = QualificationTest.objects.filter(is_active=True).order_by("task_type")
    labels = {t.key: t.label for t in all_task_types()}
    rows = [{**selectors.qualification_state(profile, test), "label": labels.get(test.task_type, test.task_type)}
            for test in tests]
    return render(request, "contributors/qualifications.html", {"rows": rows})


@login_required
def qualification(request, task_type: str):
    test = get_object_or_404(QualificationTest, task_type=task_type, is_active=True)
    if request.method == "POST":
        try:
            services.start_qualification_attempt(user=request.user, task_type=task_type)
        except services.ContributorError as exc:
            messages.error(request, exc.message)
        return redirect("contributor-qualification", task_type=task_type)
    profile = selectors.profile_for(request.user)
    state = selectors.qualification_state(profile, test)
    attempt = state["open_attempt"]
    context = {"test": test, "state": state, "instructions_html": render_instructions(test.instructions),
               "attempts": QualificationAttempt.objects.filter(test=test, profile=profile) if profile else []}
    if attempt is not None:
        items = {i.pk: i for i in QualificationItem.objects.filter(pk__in=attempt.item_ids)}
        views = attempt.views or [{}] * len(attempt.item_ids)
        task = test.task
        context.update(
            attempt=attempt,
            task=task,
            # The type's template reads its settings as ``campaign.config`` (the labelling page's context); a
            # test has no campaign, so it lends its own config under that name (without it RLHF showed no controls).
            campaign={"config": test.config, "task_type": test.task_type},
            qualification_config={
                "attemptId": attempt.pk,
                "taskType": test.task_type,
                "config": test.config,
                "choiceLabels": choice_labels(),
                "items": [{"payload": items[i].payload, "view": v} for i, v in zip(attempt.item_ids, views, strict=True)
                          if i in items],
                "submitUrl": reverse("api-qualification-submit", args=[attempt.pk]),
                # media types ask ".../media/0/" with 0 replaced by the question's number (their assignment id)
                "mediaUrl": reverse("contributor-qualification-media", args=[attempt.pk, 0]),
                "strings": {
                    "question": _("Question %(n)s of %(total)s"),
                    "required": _("Please answer this."),
                    "sending": _("Sending…"),
                    "error": _("Could not send your answers. Check your connection and try again."),
                },
            },
        )
    return render(request, "contributors/qualification.html", context)


def terms(request):
    """The contributor terms that the profile's consent refers to (public: read them before signing up)."""
    return render(request, "contributors/terms.html", {
        "version": settings.CONTRIBUTOR_TERMS_VERSION, "min_age": settings.CONTRIBUTOR_MIN_AGE})


@login_required
def personal_data(request):
    profile = services.ensure_profile(request.user)
    access_log = [_access_row(e) for e in identity_access_for(request.user)[:200]]
    if request.GET.get("access_log"):
        return JsonResponse({"identity_access": access_log}, headers={"Cache-Control": "private, no-store"})
    if request.GET.get("download"):
        data = {**page_selectors.export_personal_data(profile), "identity_access": access_log}
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="my-data-{profile.pseudonym}-{stamp}.json"'
        response["Cache-Control"] = "private, no-store"
        return response
    return render(request, "contributors/data.html", {"profile": profile, "access_log": access_log})


def _access_row(event) -> dict:
    """One access to the contributor's identity data, as the contributor sees it (staff by role and number)."""
    return {"at": event.created_at, "what": event.get_action_display(), "role": event.actor_role,
            "staff": f"#{event.actor_id}" if event.actor_id else event.actor_label, "target": event.target,
            "purpose": (event.detail or {}).get("purpose", "")}


@login_required
@require_POST
def request_erasure(request):
    services.request_erasure(user=request.user)
    messages.success(request, _("Your request is recorded. Staff will erase your personal data and tell you by e-mail."))
    return redirect("contributor-data")


@login_required
def history(request):
    """The contributor's own answers, gold mistakes, review decisions and contests, paginated (phone first)."""
    show = request.GET.get("show", "all")
    if show not in answer_history.FILTERS:
        show = "all"
    page, entries = answer_history.history_of(request.user, show=show, page=request.GET.get("page", 1))
    profile = selectors.profile_for(request.user)
    disputes = list(disputes_of(request.user))
    suspension_disputes = [d for d in disputes if d.kind == d.Kind.SUSPENSION]
    filter_names = {"all": _("All answers"), "mistakes": _("Gold mistakes"), "reviewed": _("Reviewed"),
                    "contested": _("Contested")}
    counts = answer_history.history_counts(request.user)
    return render(request, "contributors/history.html", {
        "page": page, "entries": entries, "show": show,
        "filters": [(key, filter_names[key], counts[key]) for key in answer_history.FILTERS],
        "suspended": profile if profile is not None and profile.status == profile.Status.SUSPENDED else None,
        "suspension_disputes": suspension_disputes,
        "open_suspension_dispute": any(d.state == d.State.OPEN for d in suspension_disputes),
    })


def _back_to_history(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) \
            and target.startswith(reverse("contributor-history")):
        return redirect(target)
    return redirect("contributor-history")


@login_required
@require_POST
def history_contest_answer(request, annotation_id: int):
    """Contest one of the contributor's own rejected answers from their history; anyone else's answer is 404."""
    get_object_or_404(Annotation, pk=annotation_id, contributor=request.user)
    send_answer_contest(request, annotation_id)
    return _back_to_history(request)


@login_required
@require_POST
def history_contest_suspension(request):
    send_suspension_contest(request)
    return _back_to_history(request)


@login_required
def qualification_media(request, attempt_id: int, number: int):
    """Signed URLs for the media of question ``number`` (from 1) of the user's own open attempt: the media task
    types fetch them as they would for an assignment. Only media of no organisation is signed (demo, platform)."""
    attempt = get_object_or_404(QualificationAttempt.objects.select_related("test"), pk=attempt_id,
                                profile__user=request.user, state=QualificationAttempt.State.OPEN)
    if not 1 <= number <= len(attempt.item_ids):
        raise Http404
    item = get_object_or_404(QualificationItem, pk=attempt.item_ids[number - 1], test=attempt.test)
    keys = attempt.test.task.media_keys(item.payload)
    return JsonResponse({"media": platform_media_urls(keys, user_id=request.user.pk),
                         "frames": platform_video_frames(keys, user_id=request.user.pk), "expires_in": media_url_ttl()},
                        headers={"Cache-Control": "private, no-store"})
