"""Constructs changed online: storage groups, volumes, copy pools and dump classes, changed as an
administrator changes SMS constructs and activates them, previewed first, applied in one
transaction, exported as a site definition."""

from engine.config.change import ChangeError, ConfigChange, ConfigOp, Shape
from engine.config.commit import apply
from engine.config.plan import ConfigPlan, RollOff, prepare
from engine.config.view import SiteConfiguration, configuration

__all__ = [
    "ChangeError",
    "ConfigChange",
    "ConfigOp",
    "ConfigPlan",
    "RollOff",
    "Shape",
    "SiteConfiguration",
    "apply",
    "configuration",
    "prepare",
]
