"""Flask-WTF forms: they validate shape and carry CSRF; services enforce the rules and save."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from .services.accounts import MIN_PASSWORD_LENGTH
from .services.posting import ANSWER_LENGTH, BODY_LENGTH, COMMENT_LENGTH, TITLE_LENGTH


def _int_or_zero(value) -> int:
    """Coerce a select's value; garbage becomes 0, the "choose one" placeholder."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 <= number < 2**31 else 0


def _strip_nul(value):
    # PostgreSQL refuses NUL characters in text; no legitimate input has them.
    return value.replace("\x00", "") if isinstance(value, str) else value


class BaseForm(FlaskForm):
    """Every form strips NUL characters from what it receives."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            options["filters"] = [*options.get("filters", ()), _strip_nul]
            return unbound_field.bind(form=form, **options)


class EmptyForm(BaseForm):
    """For buttons: carries only the CSRF token."""


class RegisterForm(BaseForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    display_name = StringField("Display name", validators=[DataRequired(), Length(2, 80)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(MIN_PASSWORD_LENGTH, 200)]
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class LoginForm(BaseForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in")


class ChangePasswordForm(BaseForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(MIN_PASSWORD_LENGTH, 200)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", message="The passwords do not match.")],
    )


class QuestionForm(BaseForm):
    title = StringField("Title", validators=[DataRequired(), Length(*TITLE_LENGTH)])
    # The service checks the product (it exists, it is not archived) with a message that says
    # which; the list offers only the products that take questions.
    product_id = SelectField("Product", coerce=_int_or_zero, validate_choice=False)
    body = TextAreaField("Your question", validators=[DataRequired(), Length(*BODY_LENGTH)])
    tags = StringField("Tags", validators=[Length(max=250)])


class EditQuestionForm(BaseForm):
    title = StringField("Title", validators=[DataRequired(), Length(*TITLE_LENGTH)])
    body = TextAreaField("Question", validators=[DataRequired(), Length(*BODY_LENGTH)])
    tags = StringField("Tags", validators=[Length(max=250)])


class AnswerForm(BaseForm):
    body = TextAreaField("Your answer", validators=[DataRequired(), Length(*ANSWER_LENGTH)])


class CommentForm(BaseForm):
    body = TextAreaField("Comment", validators=[DataRequired(), Length(*COMMENT_LENGTH)])
