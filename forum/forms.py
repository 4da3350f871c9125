"""Flask-WTF forms: they validate shape and carry CSRF; services enforce the rules and save."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from .services.accounts import MIN_PASSWORD_LENGTH
from .services.posting import ANSWER_LENGTH, BODY_LENGTH, COMMENT_LENGTH, TITLE_LENGTH


class EmptyForm(FlaskForm):
    """For buttons: carries only the CSRF token."""


class RegisterForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    display_name = StringField("Display name", validators=[DataRequired(), Length(2, 80)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(MIN_PASSWORD_LENGTH, 200)]
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(MIN_PASSWORD_LENGTH, 200)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", message="The passwords do not match.")],
    )


class QuestionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(*TITLE_LENGTH)])
    product_id = SelectField("Product", coerce=int, validate_choice=True)
    body = TextAreaField("Your question", validators=[DataRequired(), Length(*BODY_LENGTH)])
    tags = StringField("Tags", validators=[Length(max=250)])


class EditQuestionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(*TITLE_LENGTH)])
    body = TextAreaField("Question", validators=[DataRequired(), Length(*BODY_LENGTH)])
    tags = StringField("Tags", validators=[Length(max=250)])


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", validators=[DataRequired(), Length(*ANSWER_LENGTH)])


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired(), Length(*COMMENT_LENGTH)])
