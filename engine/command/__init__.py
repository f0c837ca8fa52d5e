"""The HSM command language: one parser for the console's command line, walkthroughs and CLI."""

from engine.command.parser import command_verbs, dsname_problem, keywords_of, parse_command
from engine.command.requests import (
    Action,
    AuditCopyPools,
    Define,
    DumpClassChange,
    FrBackup,
    FrDelete,
    FromDump,
    FrRecov,
    Hold,
    Incremental,
    ListCopyPool,
    Query,
    Request,
    ReturnControl,
    Selection,
    Setsys,
    changes_site,
    format_token,
)
from engine.command.syntax import CommandSyntaxError
from engine.command.text import command_text

__all__ = [
    "Action",
    "AuditCopyPools",
    "CommandSyntaxError",
    "Define",
    "DumpClassChange",
    "FrBackup",
    "FrDelete",
    "FrRecov",
    "FromDump",
    "Hold",
    "Incremental",
    "ListCopyPool",
    "Query",
    "Request",
    "ReturnControl",
    "Selection",
    "Setsys",
    "changes_site",
    "command_text",
    "command_verbs",
    "dsname_problem",
    "format_token",
    "keywords_of",
    "parse_command",
]
