"""`make screenshots`: render every scene of the real app into `screenshots/*.svg`.

python -m tests.console.screenshots [--theme NAME] [--only NAME ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.console.scenes import (
    SCENES,
    SIZE,
    WALKTHROUGH_SCENES,
    Scene,
    build_demo_site,
    copy_site,
    pin_environment,
    scene_app,
)

OUT = Path(__file__).resolve().parent.parent / "screenshots"


async def render(template: Path, work: Path, sc: Scene, theme: str, out: Path) -> Path:
    path = copy_site(template, work / sc.name / "flashpool-data")
    app = scene_app(path, theme=theme, **sc.app_options)
    async with app.run_test(size=SIZE) as pilot:
        await sc.drive(pilot)
        target = out / f"{sc.name}.svg"
        app.save_screenshot(filename=target.name, path=str(out))
    await app.site.close()
    return target


async def render_all(scenes: list[Scene], theme: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flashpool-shots-") as tmp:
        template = await build_demo_site(Path(tmp) / "template")
        return [await render(template, Path(tmp), sc, theme, out) for sc in scenes]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.console.screenshots")
    p.add_argument("--theme", default="flashpool-dark")
    p.add_argument("--only", nargs="*", help="scene names")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    pin_environment()
    chosen = [
        s
        for s in SCENES + [w for w in WALKTHROUGH_SCENES if w.name.startswith("w1-")]
        if not args.only or s.name in args.only
    ]
    for path in asyncio.run(render_all(chosen, args.theme, args.out)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
