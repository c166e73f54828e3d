"""Console forms: the campaign form driven by the task type's config schema, and review decisions.

The task type's JSON Schema (``config_schema`` of the type in task_types/<key>/) becomes form fields: booleans
become checkboxes, enums choices, numbers number inputs, lists of strings one line per value, lists of
flat objects (e.g. label sets) one line per object with ``|`` between columns, anything else JSON.
Validation stays with the task type (``validate_config``) and ``tasks.services.validate_campaign_settings``.
"""
from __future__ import annotations

import base64
import json
import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributors.models import Region
from core.schema import SchemaError
from tasks.models import Campaign
from tasks.services import update_campaign_config, validate_campaign_settings
from tasks.types import get_task_type, task_type_choices

CONFIG_PREFIX = "cfg__"
QUOTA_PREFIX = "quota_"
SCALARS = {"string", "integer", "number", "boolean"}
# Raw HTML that Markdown would pass through and that has no place in instructions.
UNSAFE_MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|style|form|meta|link|base)\b|\bon[a-z]+\s*=|javascript\s*:", re.I
)


def _type_of(schema: dict) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in schema:
        return "enum"
    return kind or "any"


def _is_flat_object_list(schema: dict) -> bool:
    items = schema.get("items") or {}
    props = items.get("properties") or {}
    return _type_of(items) == "object" and bool(props) and all(_type_of(p) in SCALARS for p in props.values())


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ConfigField:
    """How one top-level config property is edited in the form and read back."""

    def __init__(self, name: str, schema: dict, required: bool):
        self.name = name
        self.schema = schema
        self.required = required
        self.kind = _type_of(schema)
        self.columns: list[str] = []
        if schema.get("x-upload"):  # a file the type converts itself (e.g. an XLSForm), sent as {"name", "data"}
            self.kind = "upload"
        elif self.kind == "array" and _is_flat_object_list(schema):
            self.kind = "object_lines"
            self.columns = list(schema["items"]["properties"])
        elif self.kind == "array" and _type_of(schema.get("items") or {}) in SCALARS | {"enum"}:
            self.kind = "value_lines"

    @property
    def form_name(self) -> str:
        return CONFIG_PREFIX + self.name

    def label(self) -> str:
        return self.schema.get("title") or self.name.replace("_", " ").capitalize()

    def help_text(self) -> str:
        parts = [self.schema.get("description", "")]
        if self.kind == "object_lines":
            required = (self.schema["items"].get("required") or [])
            cols = " | ".join(c + ("" if c in required else "?") for c in self.columns)
            parts.append(_("One per line: %(cols)s (columns marked ? may be left out).") % {"cols": cols})
        elif self.kind == "value_lines":
            parts.append(_("One value per line."))
        elif self.kind in ("object", "array", "any"):
            parts.append(_("JSON."))
        return " ".join(p for p in parts if p)

    def form_field(self) -> forms.Field:
        common = {"label": self.label(), "help_text": self.help_text(), "required": self.required}
        schema = self.schema
        if self.kind == "boolean":
            return forms.BooleanField(**{**common, "required": False})
        if self.kind == "upload":
            accept = ",".join(schema["x-upload"])
            return forms.FileField(**{**common, "required": False}, widget=forms.ClearableFileInput(attrs={"accept": accept}))
        if "enum" in schema and self.kind in ("string", "enum", "integer"):
            choices = [(json.dumps(v), str(v)) for v in schema["enum"]]
            return forms.TypedChoiceField(choices=choices, coerce=json.loads, **common)
        if self.kind == "integer":
            return forms.IntegerField(min_value=schema.get("minimum"), max_value=schema.get("maximum"), **common)
        if self.kind == "number":
            return forms.FloatField(min_value=schema.get("minimum"), max_value=schema.get("maximum"), **common)
        if self.kind == "string":
            long = (schema.get("maxLength") or 10_000) > 300
            widget = forms.Textarea(attrs={"rows": 3}) if long else forms.TextInput
            return forms.CharField(max_length=schema.get("maxLength"), widget=widget, strip=True, **common)
        if self.kind in ("object_lines", "value_lines"):
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "class": "vLargeTextField"}), **common)
        return forms.JSONField(widget=forms.Textarea(attrs={"rows": 6}), **common)

    def initial(self, config: dict):
        if self.name not in config or self.kind == "upload":
            return None
        value = config[self.name]
        if self.kind == "object_lines":
            rows = []
            for obj in value or []:
                cells = [str(obj.get(c, "")) if obj.get(c) is not None else "" for c in self.columns]
                while cells and cells[-1] == "":
                    cells.pop()
                rows.append(" | ".join(cells))
            return "\n".join(rows)
        if self.kind == "value_lines":
            return "\n".join(str(v) for v in value or [])
        if "enum" in self.schema and self.kind in ("string", "enum", "integer"):
            return json.dumps(value)
        return value

    def parse(self, raw):
        """The config value from the cleaned form value; raises SchemaError naming the line."""
        if self.kind == "upload":
            return {"name": raw.name, "data": base64.b64encode(raw.read()).decode()}
        if self.kind == "object_lines":
            props = self.schema["items"]["properties"]
            out = []
            for n, line in enumerate(_lines(raw), start=1):
                cells = [c.strip() for c in line.split("|")]
                if len(cells) > len(self.columns):
                    raise SchemaError(
                        self.name,
                        _("Line %(n)d has %(got)d columns; expected at most %(max)d (%(cols)s).")
                        % {"n": n, "got": len(cells), "max": len(self.columns), "cols": " | ".join(self.columns)},
                    )
                obj = {}
                for col, cell in zip(self.columns, cells, strict=False):
                    if cell == "":
                        continue
                    obj[col] = self._scalar(props[col], cell, f"{self.name} line {n}, {col}")
                out.append(obj)
            return out
        if self.kind == "value_lines":
            item_schema = self.schema.get("items") or {}
            return [self._scalar(item_schema, v, f"{self.name} line {n}") for n, v in enumerate(_lines(raw), 1)]
        return raw

    @staticmethod
    def _scalar(schema: dict, text: str, where: str):
        kind = _type_of(schema)
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                return float(text)
        except ValueError as exc:
            raise SchemaError(where, _("%(value)r is not a number.") % {"value": text}) from exc
        if kind == "boolean":
            return text.lower() in {"1", "true", "yes", "y", "có"}
        return text


def config_fields_for(task_type: str) -> list[ConfigField]:
    schema = get_task_type(task_type).config_schema or {}
    required = set(schema.get("required") or [])
    return [ConfigField(name, prop, name in required) for name, prop in (schema.get("properties") or {}).items()]


FIELD_HELP = {
    "max_overlap": gettext_lazy("When the answers disagree, more are requested one at a time up to this many."),
    "gold_rate": gettext_lazy("Share of tasks served from gold items (known answers, indistinguishable), 0 to 1."),
    "confidence_threshold": gettext_lazy("Consensus confidence (0 to 1) needed to finalise an item; below it "
                                         "more answers are requested, then the item goes to expert review."),
    "lease_seconds": gettext_lazy("How long a contributor holds an item before it returns to the queue."),
    "pay_per_task": gettext_lazy("Paid per submitted answer; the dashboard compares the cost with the budget."),
    "budget": gettext_lazy("Optional; the dashboard warns when the projected cost exceeds it."),
    "priority": gettext_lazy("Higher-priority campaigns are listed first for contributors."),
    "deadline": gettext_lazy("Optional; a campaign cannot be activated after it."),
    "min_trust": gettext_lazy("Minimum trust (0 to 1) for this task type, from gold answers and agreement."),
    "min_verification_level": gettext_lazy("0 none, 1 e-mail verified, 2 complete profile, 3 qualified for "
                                           "a task type, 4 identity verified by staff."),
    "requires_qualification": gettext_lazy("Contributors must pass this task type's qualification test first."),
    "profile_rules": gettext_lazy(
        'Eligibility and quotas on profile attributes (province, dialect, gender, age_band, device_type, '
        'languages), as JSON, e.g. {"eligible": {"age_band": ["18-24", "25-34"]}, "quotas": {"gender": '
        '{"share": {"female": 50, "male": 50}}}}; "count" instead of "share" caps answers. See docs/surveys.md.'),
}


class CampaignAdminForm(forms.ModelForm):
    """Base form; ``campaign_form_for(task_type)`` adds the task type's config fields."""

    task_type_key: str = ""
    config_fields: list[ConfigField] = []

    class Meta:
        model = Campaign
        fields = ["organization", "name", "task_type", "instructions", "overlap", "max_overlap", "gold_rate",
                  "confidence_threshold", "lease_seconds", "pay_per_task", "budget", "priority", "deadline",
                  "min_trust", "min_verification_level", "requires_qualification", "profile_rules"]
        widgets = {"instructions": forms.Textarea(attrs={"rows": 12, "class": "vLargeTextField"}),
                   "profile_rules": forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "task_type" in self.fields:
            self.fields["task_type"] = forms.ChoiceField(
                choices=task_type_choices(), label=gettext_lazy("task type"), initial=self.task_type_key,
                help_text=gettext_lazy("Changing it reloads the form with that type's settings."),
            )
        if self.task_type_key:
            task = get_task_type(self.task_type_key)
            config = {**task.default_config(), **(self.instance.config or {})}
            for spec in self.config_fields:
                value = spec.initial(config)
                if value is not None:
                    self.initial.setdefault(spec.form_name, value)
        if "profile_rules" in self.fields:
            self.initial.setdefault("profile_rules", self.instance.profile_rules or {})
        for code, _label in Region.choices:
            value = (self.instance.region_quotas or {}).get(code)
            if value is not None:
                self.initial.setdefault(QUOTA_PREFIX + code, value)
        for name, text in FIELD_HELP.items():
            if name in self.fields and not self.fields[name].help_text:
                self.fields[name].help_text = text
        self.fields["instructions"].help_text = gettext_lazy(
            "Markdown: headings, lists, **bold**, links, tables. Give examples of good answers. "
            "HTML script, frames, styles and event handlers are refused."
        )

    def clean_instructions(self):
        text = self.cleaned_data.get("instructions") or ""
        found = UNSAFE_MARKUP.search(text)
        if found:
            raise forms.ValidationError(
                _("Instructions may not contain scripts, frames, styles or event handlers (found %(what)r). "
                  "Use Markdown only.") % {"what": found.group(0)}
            )
        return text

    def clean(self):
        cleaned = super().clean()
        task_key = cleaned.get("task_type") or self.instance.task_type or self.task_type_key
        # Build the config from the type's fields (only when the form was built for this type).
        if task_key and task_key == self.task_type_key:
            config = {}
            for spec in self.config_fields:
                raw = cleaned.get(spec.form_name)
                if raw in (None, "") and spec.kind not in ("boolean",):
                    continue
                try:
                    config[spec.name] = spec.parse(raw)
                except SchemaError as exc:
                    self.add_error(spec.form_name, exc.message if exc.field == spec.name else f"{exc.field}: {exc.message}")
                    return cleaned
            try:
                if self.instance.pk:
                    config = update_campaign_config(campaign=self.instance, config=config)
                else:
                    config = get_task_type(task_key).validate_config(config)
            except SchemaError as exc:
                self._add_schema_error(exc, config=True)
                return cleaned
            self.instance.config = config
        quotas = {}
        for code, _label in Region.choices:
            value = cleaned.get(QUOTA_PREFIX + code)
            if value is not None:
                quotas[code] = value
        self.instance.region_quotas = quotas
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            validate_campaign_settings(self.instance)
        except SchemaError as exc:
            self._add_schema_error(exc)

    def _add_schema_error(self, exc: SchemaError, config: bool = False):
        field = exc.field or ""
        top = re.split(r"[.\[]", field)[0] if field else ""
        message = exc.message
        if config:
            target = CONFIG_PREFIX + top
            spec = next((c for c in self.config_fields if c.name == top), None)
            if spec is not None and field == top and message.endswith("is too short"):
                message = _("Too few entries: at least %(n)s are needed.") % {"n": spec.schema.get("minItems", 1)}
            if target in self.fields:
                self.add_error(target, f"{field}: {message}" if field != top else message)
                return
            self.add_error(None, f"{field}: {message}" if field else message)
            return
        if field == "region_quotas":
            self.add_error(None, _("Region quotas: %(message)s") % {"message": message})
        elif top == "profile_rules" and "profile_rules" in self.fields:
            self.add_error("profile_rules", f"{field}: {message}")
        elif field in self.fields:
            self.add_error(field, message)
        else:
            self.add_error(None, f"{field}: {message}" if field else message)


def campaign_form_for(task_type: str) -> type[CampaignAdminForm]:
    """A CampaignAdminForm class carrying ``task_type``'s config fields and the region quota fields."""
    specs = config_fields_for(task_type)
    attrs = {spec.form_name: spec.form_field() for spec in specs}
    for code, label in Region.choices:
        attrs[QUOTA_PREFIX + code] = forms.FloatField(
            label=_("Quota: %(region)s (%%)") % {"region": label}, required=False, min_value=0, max_value=100,
            help_text=_("Share of answers from this region. Leave all empty for no quotas; otherwise they add up to 100."),
        )
    attrs["task_type_key"] = task_type
    attrs["config_fields"] = specs
    return type(f"CampaignForm_{task_type}", (CampaignAdminForm,), attrs)


class ReviewDecisionForm(forms.Form):
    """One reviewer verdict: accept, reject (reason required) or correct (corrected answer as JSON)."""

    annotation = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("accept", gettext_lazy("Accept")), ("reject", gettext_lazy("Reject")),
                                          ("correct", gettext_lazy("Correct"))])
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    corrected_payload = forms.JSONField(required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the answer is rejected: the contributor sees the reason."))
        if cleaned.get("decision") == "correct" and cleaned.get("corrected_payload") in (None, ""):
            self.add_error("corrected_payload", _("Enter the corrected answer."))
        return cleaned
