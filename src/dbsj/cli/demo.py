"""``dbsj demo``: a thin shell over :func:`dbsj.run_demo`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``dbsj`` app."""

    @app.command("demo")
    def demo(
        targets: int = typer.Option(2_500_000, "--targets", help="合成市场主体数量 / synthetic market entities"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件（默认 demo/dbsj.duckdb）/ store file"),
        workdir: Path = typer.Option(Path("demo"), "--workdir", help="演示目录 / demo folder"),
        seed: Optional[str] = typer.Option(None, "--seed", help="合成数据种子 / synthetic data seed"),
        as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象 / print one JSON object"),
    ) -> None:
        """在 ./demo/ 中用合成的新疆跑通全年: 建库、检查计划、抽取与分配、结果、公示、考评与报告 / run a whole year on a synthetic Xinjiang in ./demo/."""
        from dbsj.demo import DEMO_SEED, run_demo

        result = run_demo(workdir, targets=targets, seed=seed or DEMO_SEED, json=as_json, db=db)
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
