"""Forms for logging in, passwords and accepting an invitation. Validation and layout only:
the account itself is created by `services.invitation_accept`."""

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms


class CrispyMixin:
    """Crispy layout without its own <form> tag: the templates write the tag and the button."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class LoginForm(CrispyMixin, auth_forms.AuthenticationForm):
    """Django's login form (field `username` holds the e-mail; matched case-insensitively by
    UserManager.get_by_natural_key). Inactive users fail like a wrong password, so the page
    never tells whether an account exists or was deactivated."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": "That e-mail address and password don't match an active account.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.label = "E-mail"
        username.widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email", "maxlength": 254})


class PasswordChangeForm(CrispyMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(CrispyMixin, auth_forms.PasswordResetForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail"


class SetPasswordForm(CrispyMixin, auth_forms.SetPasswordForm):
    pass


class InvitationAcceptForm(CrispyMixin, auth_forms.SetPasswordMixin, forms.Form):
    """Name and a new password, typed twice. The password validators run in the service
    (they need the new user), which raises ValidationError for the view to show here."""

    name = forms.CharField(label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password1, password2 = auth_forms.SetPasswordMixin.create_password_fields(label2="Confirm password")

    def clean(self):
        self.validate_passwords()
        return super().clean()


def axes_username(request, credentials=None) -> str:
    """The account key for django-axes: e-mail logins are case-insensitive, so the lockout
    counter must be too — otherwise `Pat@x` and `pat@x` would each get their own 5 tries."""
    field = settings.AXES_USERNAME_FORM_FIELD
    value = credentials.get(field) if credentials else getattr(request, "POST", {}).get(field)
    return (value or "").strip().lower()
