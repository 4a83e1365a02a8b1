"""Web forms of the catalogue pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ModuleForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(min=2, max=16)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    owner = StringField("Owner email", validators=[Optional(), Length(max=320)])
    support_group = SelectField("Support group", choices=[], validate_choice=False)
    calendar = SelectField("Business calendar", choices=[], validate_choice=False)
    active = BooleanField("Active", default=True)


class HolidayImportForm(FlaskForm):
    country = StringField("Country code", validators=[DataRequired(), Length(min=2, max=8)])
    year = StringField("Year", validators=[DataRequired(), Length(min=4, max=4)])
