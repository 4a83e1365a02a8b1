"""Web forms of the catalogue pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ModuleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(min=2, max=16)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    owner = StringField(_l("Owner email"), validators=[Optional(), Length(max=320)])
    support_group = SelectField(_l("Support group"), choices=[], validate_choice=False)
    calendar = SelectField(_l("Business calendar"), choices=[], validate_choice=False)
    active = BooleanField(_l("Active"), default=True)
