"""The configuration: storage groups with their volumes, copy pools and dump classes as the site
defines them now, with what keeps each volume and copy pool where it is; changes made here are
previewed (what changes now, what follows at the next FRBACKUP, the versions that roll off) and
confirmed like the walkthroughs' actions (console/modals/config_change.py)."""

from __future__ import annotations

from textual.binding import Binding

from console.modals.config_change import ConfigForm, forms_for
from console.screens.base import ListScreen
from console.widgets.live_table import Cells, Column
from engine.api import NotAuthorized
from engine.config import SiteConfiguration


class ConfigScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Configuration"
    CRUMB = "Configuration"
    EMPTY_TEXT = "The site defines no storage groups, copy pools or dump classes yet: n defines a copy pool."
    HELP_TEXT = (
        "The constructs as the site defines them now: copy pools, storage groups with their volumes, "
        "dump classes. Each change is previewed first - what it changes now, what follows at the next "
        "FRBACKUP (storage group changes, the versions a lowered VERSIONS rolls off) and why it would be "
        "refused - and runs only as previewed, after you type the name it changes. The same changes are "
        "`flashpool config` on the command line."
    )
    COLUMNS = [
        Column("Kind", "kind", 10),
        Column("Name", "name", 12),
        Column("Definition", "definition", 40, grow=True, min_width=24),
        Column("Holds it", "held", 30, drop=1, grow=True, min_width=16),
    ]
    BINDINGS = [
        Binding("a", "config('add')", "Add volumes", id="config.add"),
        Binding("v", "config('versions')", "Versions", id="config.versions"),
        Binding("e", "config('alter')", "Alter", id="config.alter"),
        Binding("n", "config('pool')", "New pool", id="config.new_pool"),
        Binding("N", "config('group')", "New group", id="config.new_group"),
        Binding("d", "config('delete')", "Remove", id="config.delete"),
    ]

    current: SiteConfiguration | None = None
    refused: str = ""  # why this user may not see it

    def empty_text(self) -> str:
        return self.refused or self.EMPTY_TEXT

    def load(self) -> list[tuple[str, Cells]]:
        try:
            conf = self.fpapp.site.configuration()
        except NotAuthorized as exc:  # said where the list would be, not as a failed load
            self.refused = f"You may not see the configuration: {exc}"
            return []
        self.refused = ""
        self.current = conf
        rows: list[tuple[str, Cells]] = []
        for p in conf.pools:
            roll = ", ".join(f"{n:03d}" for n in p.rolls_off_next)
            rows.append(
                (
                    f"pool:{p.name}",
                    (
                        "COPY POOL",
                        p.name,
                        f"VERSIONS({p.versions}) {'+'.join(p.storage_groups)}"
                        + (" FRR" if p.fast_reverse_restore else "")
                        + (f" CATCAP({p.catalog_capture})" if p.catalog_capture != "N" else "")
                        + (" AUTODUMP" if p.auto_dump else "")
                        + (f" DUMP({','.join(p.dump_classes)})" if p.dump_classes else ""),
                        f"{p.valid_versions} valid" + (f"; next FRBACKUP rolls off {roll}" if roll else ""),
                    ),
                )
            )
        for g in conf.groups:
            kind = "POOL SG" if g.type == "POOL" else "BACKUP SG"
            rows.append(
                (
                    f"group:{g.name}",
                    (
                        kind,
                        g.name,
                        f"{len(g.volumes)} volume(s)"
                        + (f" → {g.backup_group}" if g.backup_group else "")
                        + (f"; copy pools {' '.join(g.copy_pools)}" if g.copy_pools else ""),
                        "",
                    ),
                )
            )
            for v in g.volumes:
                rows.append((f"volume:{v.volser}", ("  volume", v.volser, f"in {g.name}: {v.size}", v.held or "—")))
        for v in conf.loose:
            rows.append((f"volume:{v.volser}", ("volume", v.volser, f"in no storage group: {v.size}", v.held or "—")))
        for d in conf.dump_classes:
            rows.append(
                (
                    f"class:{d.name}",
                    ("DUMP CLASS", d.name, d.attributes.split(" ", 1)[1], f"{d.copies} dump copies"),
                )
            )
        return rows

    def selected(self) -> tuple[str, str]:
        """The kind and name of the selected row ("", "" when none)."""
        key = self.table.selected_key or ""
        kind, _, name = key.partition(":")
        return kind, name

    def action_config(self, what: str) -> None:
        kind, name = self.selected()
        if self.current is None:
            return
        form: ConfigForm | str = forms_for(self.current, what, kind, name)
        if isinstance(form, str):  # why nothing can be done here
            self.app.notify(form, severity="warning", timeout=5)
            return
        self.fpapp.change_configuration(form)


__all__ = ["ConfigScreen"]
