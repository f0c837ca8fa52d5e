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

OUT = Path(__file__).resolve().parents[2] / "screenshots"  # the repository's, shown in the README


#: scenes also drawn on the smallest terminal the console supports
SMALL = (80, 24)
SMALL_SCENES = ("pools", "pool-detail")


async def render(template: Path, work: Path, sc: Scene, theme: str, out: Path, size: tuple[int, int] = SIZE) -> Path:
    suffix = "" if size == SIZE else f"-{size[0]}x{size[1]}"
    path = copy_site(template, work / f"{sc.name}{suffix}" / "flashpool-data")
    app = scene_app(path, theme=theme, **sc.app_options)
    async with app.run_test(size=size) as pilot:
        await sc.drive(pilot)
        target = out / f"{sc.name}{suffix}.svg"
        app.save_screenshot(filename=target.name, path=str(out))
    await app.site.close()
    return target


async def render_all(scenes: list[Scene], theme: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flashpool-shots-") as tmp:
        template = await build_demo_site(Path(tmp) / "template")
        done = [await render(template, Path(tmp), sc, theme, out) for sc in scenes]
        for sc in scenes:
            if sc.name in SMALL_SCENES:
                done.append(await render(template, Path(tmp), sc, theme, out, SMALL))
        return done


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
