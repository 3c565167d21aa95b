"""The CSV import page's upload form: validation and layout only — activities.services.imports
reads the file and decides."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.template.defaultfilters import filesizeformat

from .services.imports import MAX_UPLOAD_BYTES, MAX_UPLOAD_LABEL

CSV_SUFFIXES = (".csv", ".txt")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 text with a header row, at most {MAX_UPLOAD_LABEL}. Nothing is imported yet: you see "
        "a check of every row first.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        # The template owns <form> (multipart) and its CSRF token.
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.add_input(Submit("submit", "Check the file", css_class="btn-touch"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {MAX_UPLOAD_LABEL}. "
                "Split it into smaller files."
            )
        if not (upload.name or "").lower().endswith(CSV_SUFFIXES):
            raise forms.ValidationError(
                "Upload a .csv file. In Excel or Google Sheets: save or download the sheet as “CSV UTF-8”."
            )
        return upload
