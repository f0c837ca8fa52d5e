"""A configuration change, as the walkthroughs run an action: its fields, then the engine's preview
(what changes now, what follows at the next FRBACKUP, the versions that roll off, why it would be
refused), then the name to type; it runs only as previewed (the preview's digest goes with it).
Editing a field after the preview takes the preview back. Escape cancels; nothing changes unless
the name matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.api import SiteAPI
from engine.config import ConfigChange, ConfigOp, ConfigPlan, Shape, SiteConfiguration
from engine.errors import FlashpoolError
from engine.messages import CommandResult


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    key: str
    value: str = ""
    placeholder: str = ""


@dataclass(frozen=True)
class ConfigForm:
    """One change: its title, its fields, how the fields make the change, the name to type."""

    title: str
    fields: tuple[Field, ...]
    build: Callable[[dict[str, str]], ConfigChange]
    confirm: str  # the name typed to run it
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _names(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.replace(",", " ").upper().split() if t)


def _number(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{what} is a number, not {text!r}")
    return int(text)


def _yes(text: str) -> bool | None:
    t = text.strip().upper()
    if not t:
        return None
    if t in ("Y", "YES"):
        return True
    if t in ("N", "NO"):
        return False
    raise ValueError(f"write YES or NO, not {text!r}")


def forms_for(conf: SiteConfiguration, what: str, kind: str, name: str) -> ConfigForm | str:
    """The form for action `what` on the selected row (kind, name), or why there is none."""
    pool = next((p for p in conf.pools if p.name == name), None) if kind == "pool" else None
    group_name = name if kind == "group" else ""
    if kind == "volume":
        group_name = next((g.name for g in conf.groups if any(v.volser == name for v in g.volumes)), "")
    if what == "add":
        if not group_name:
            return "select a storage group (or one of its volumes) to add volumes to"
        return ConfigForm(
            f"Add volumes to storage group {group_name}",
            (
                Field("New volsers (or volumes in no group)", "volsers", placeholder="e.g. DB0A04 DB0A05"),
                Field("3390 model (empty: like the group's volumes)", "model", placeholder="3390-9"),
            ),
            lambda f: ConfigChange(
                ConfigOp.ADD_VOLUMES, group_name, _names(f["volsers"]), Shape(model=f["model"].strip().upper())
            ),
            group_name,
        )
    if what == "versions":
        if pool is None:
            return "select a copy pool to change its VERSIONS"
        return ConfigForm(
            f"VERSIONS of copy pool {pool.name}",
            (Field("VERSIONS (0-85)", "versions", str(pool.versions)),),
            lambda f: ConfigChange(ConfigOp.ALTER_POOL, pool.name, versions=_number(f["versions"], "VERSIONS")),
            pool.name,
            note="Lowering VERSIONS rolls the excess versions off at the next FRBACKUP; the preview names them.",
        )
    if what == "alter":
        if pool is not None:
            return ConfigForm(
                f"Alter copy pool {pool.name}",
                (
                    Field("Storage groups, in order", "groups", " ".join(pool.storage_groups)),
                    Field("VERSIONS (0-85)", "versions", str(pool.versions)),
                    Field("Fast reverse restore (YES/NO)", "frr", "YES" if pool.fast_reverse_restore else "NO"),
                    Field("Catalog capture (N/P/R)", "catcap", pool.catalog_capture),
                    Field("Automatic dump (YES/NO)", "auto", "YES" if pool.auto_dump else "NO"),
                    Field("Dump classes (CLASS:VERSIONS ...)", "classes", " ".join(pool.dump_classes)),
                    Field("Description", "description", pool.description),
                ),
                lambda f: ConfigChange(
                    ConfigOp.ALTER_POOL,
                    pool.name,
                    storage_groups=_names(f["groups"]),
                    versions=_number(f["versions"], "VERSIONS"),
                    fast_reverse_restore=_yes(f["frr"]),
                    catalog_capture=f["catcap"].strip().upper() or None,
                    auto_dump=_yes(f["auto"]),
                    dump_classes=_names(f["classes"]),
                    description=f["description"],
                ),
                pool.name,
            )
        if kind == "group":
            group = next(g for g in conf.groups if g.name == name)
            if group.type != "POOL":
                return f"{name} is a copy pool backup storage group: it has only volumes to add or remove"
            return ConfigForm(
                f"Copy pool backup storage group of {name}",
                (Field("Backup storage group", "backup", group.backup_group or ""),),
                lambda f: ConfigChange(ConfigOp.ALTER_GROUP, name, backup_group=f["backup"].strip().upper()),
                name,
            )
        return (
            "select a copy pool or a POOL storage group to alter (dump classes: DEFINE DUMPCLASS on the command line)"
        )
    if what == "pool":
        return ConfigForm(
            "Define a copy pool",
            (
                Field("Copy pool name", "name", placeholder="DSN$DB0B$DB"),
                Field("Storage groups, in order", "groups", placeholder="DB0BDATA DB0BLOG"),
                Field("VERSIONS (0-85)", "versions", "2"),
                Field("Fast reverse restore (YES/NO)", "frr", "NO"),
                Field("Dump classes (CLASS:VERSIONS ...)", "classes"),
            ),
            lambda f: ConfigChange(
                ConfigOp.DEFINE_POOL,
                f["name"].strip().upper(),
                storage_groups=_names(f["groups"]),
                versions=_number(f["versions"], "VERSIONS"),
                fast_reverse_restore=_yes(f["frr"]),
                dump_classes=_names(f["classes"]),
            ),
            "",
        )
    if what == "group":
        return ConfigForm(
            "Define a storage group",
            (
                Field("Storage group name", "name", placeholder="DB0BDATA"),
                Field("Type (POOL or COPYPOOLBACKUP)", "type", "POOL"),
                Field("Backup storage group (a POOL group's)", "backup"),
                Field("Volsers (new volumes)", "volsers"),
                Field("3390 model", "model", "3390-9"),
            ),
            lambda f: ConfigChange(
                ConfigOp.DEFINE_GROUP,
                f["name"].strip().upper(),
                _names(f["volsers"]),
                Shape(model=f["model"].strip().upper()),
                group_type=f["type"].strip().upper(),
                backup_group=f["backup"].strip().upper() or None,
            ),
            "",
        )
    # delete: what the selected row is
    if kind == "pool":
        change = ConfigChange(ConfigOp.DELETE_POOL, name)
        title = f"Delete copy pool {name}"
    elif kind == "group":
        change, title = ConfigChange(ConfigOp.DELETE_GROUP, name), f"Delete storage group {name} (its volumes stay)"
    elif kind == "class":
        change, title = ConfigChange(ConfigOp.DELETE_DUMP_CLASS, name), f"Delete dump class {name}"
    elif kind == "volume" and group_name:
        change = ConfigChange(ConfigOp.REMOVE_VOLUMES, group_name, (name,))
        title = f"Remove volume {name} from {group_name} (it stays, in no storage group)"
    elif kind == "volume":
        change, title = ConfigChange(ConfigOp.DELETE_VOLUMES, volumes=(name,)), f"Delete volume {name} and its image"
    else:
        return "select what to remove"
    return ConfigForm(title, (), lambda f: change, name)


class ConfigChangeScreen(ModalScreen[CommandResult | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="config_change.cancel")]
    DEFAULT_CSS = """
    ConfigChangeScreen { align: center middle; }
    #config-change { width: 96; max-width: 100%; height: auto; max-height: 100%; border: thick $warning;
                     background: $surface; padding: 1 2; }
    #config-title { text-style: bold; }
    #config-fields { height: auto; }
    #config-fields Label { margin: 1 0 0 0; }
    #config-preview { height: auto; max-height: 16; margin: 1 0 0 0; }
    #config-confirm { height: auto; }
    #config-match { height: 1; }
    #config-buttons { height: 3; align-horizontal: right; }
    #config-buttons Button { margin-left: 2; }
    """

    def __init__(self, site: SiteAPI, form: ConfigForm) -> None:
        super().__init__()
        self.site = site
        self.form = form
        self.plan: ConfigPlan | None = None
        self.change: ConfigChange | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="config-change"):
            yield Label(self.form.title, id="config-title")
            if self.form.note:
                yield Static(self.form.note, id="config-note")
            with Vertical(id="config-fields"):
                for f in self.form.fields:
                    yield Label(f.label)
                    yield Input(f.value, placeholder=f.placeholder, id=f"field-{f.key}")
            with VerticalScroll(id="config-preview"):
                yield Static("", id="config-plan")
            with Vertical(id="config-confirm"):
                yield Label("", id="config-type")
                yield Input(id="config-name")
                yield Label("", id="config-match")
            with Horizontal(id="config-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Preview", id="preview")
                yield Button("Apply", id="apply", variant="error", disabled=True)
            yield Label("enter: preview, then type the name and enter to apply · escape: cancel", id="config-keys")

    def on_mount(self) -> None:
        self.query_one("#config-confirm").display = False
        inputs = self.query(Input)
        if self.form.fields:
            inputs.first().focus()
        else:  # nothing to fill in: the preview at once
            self.preview()

    def values(self) -> dict[str, str]:
        return {f.key: self.query_one(f"#field-{f.key}", Input).value for f in self.form.fields}

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        if event.input.id == "config-name":
            self._say(event.value.strip().upper(), submitted=False)
        elif self.plan is not None:  # the preview was of other values
            self.plan = None
            self.query_one("#config-plan", Static).update("")
            self.query_one("#config-confirm").display = False
            self.query_one("#apply", Button).disabled = True

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "config-name":
            self.preview()
            return
        if self._matches(event.value):
            self.apply()
        else:
            self._say(event.value.strip().upper(), submitted=True)

    @on(Button.Pressed, "#preview")
    def _preview_pressed(self) -> None:
        self.preview()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.apply()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def expected(self) -> str:
        return (self.form.confirm or (self.change.name if self.change else "") or "YES").upper()

    def _matches(self, typed: str) -> bool:
        return self.plan is not None and self.plan.allowed and typed.strip().upper() == self.expected()

    @work(exclusive=True, group="config-preview", exit_on_error=False)
    async def preview(self) -> None:
        import asyncio

        shown = self.query_one("#config-plan", Static)
        try:
            change = self.form.build(self.values())
        except ValueError as exc:
            shown.update(Text(f"✘ {exc}", style="bold"))
            return
        shown.update("previewing…")
        try:
            plan = await asyncio.to_thread(self.site.config_preview, change)
        except FlashpoolError as exc:
            shown.update(Text(f"✘ {exc}", style="bold"))
            return
        self.change, self.plan = change, plan
        shown.update(plan_text(plan))
        ready = plan.allowed and bool(plan.steps)
        self.query_one("#config-confirm").display = ready
        if ready:
            self.query_one("#config-type", Label).update(f"Type {self.expected()} to apply it:")
            box = self.query_one("#config-name", Input)
            box.value = ""
            box.focus()

    @work(exclusive=True, group="config-apply", exit_on_error=False)
    async def apply(self) -> None:
        if self.plan is None or self.change is None or not self._matches(self.query_one("#config-name", Input).value):
            return
        res = await self.site.change_config(self.change, self.plan.digest)
        self.dismiss(res)

    def _say(self, typed: str, submitted: bool) -> None:
        match = self.query_one("#config-match", Label)
        ok = self._matches(typed)
        self.query_one("#apply", Button).disabled = not ok
        if ok:
            match.update(Text("✔ the name matches: enter applies the change as previewed", style="bold"))
        elif typed and (submitted or not self.expected().startswith(typed)):
            match.update(Text(f"✘ {typed} does not match {self.expected()}: nothing will change", style="bold"))
        else:
            match.update("")


def plan_text(plan: ConfigPlan) -> Text:
    """The preview: refusals first, then what changes now, what follows, what is lost."""
    out = Text()
    for p in plan.problems:
        out.append(f"✘ refused: {p}\n", style="bold")
    if plan.allowed and not plan.steps:
        out.append("Nothing to change: the configuration says this already.\n")
    for s in plan.steps:
        out.append(f"• {s}\n")
    for e in plan.effects:
        out.append(f"→ {e}\n")
    for r in plan.roll_offs:
        if r.versions:
            out.append(
                f"✘ at the next FRBACKUP of {r.copy_pool} these versions roll off: "
                + " ".join(f"{n:03d}" for n in r.versions)
                + (f" (refused without FORCE: REQUIRED dump class {r.blocked_by} incomplete)" if r.blocked_by else "")
                + "\n",
                style="bold",
            )
    return out


__all__ = ["ConfigChangeScreen", "ConfigForm", "Field", "forms_for", "plan_text"]
