"""permlake on Airflow: one mapped task per account (AWS account or Azure subscription) and hour,
retried on its own, then the models in shards (one mapped task each), then one final step.

- The account list comes from `permlake accounts --json` at run time (dynamic task mapping), so
  accounts discovered through the organization or Azure appear without editing the DAG.
- Each collect task runs `permlake run --hour <data_interval_start> --accounts <id> --no-models`:
  safe to retry (files already ingested are skipped, partitions merge on event ID) and safe beside
  the other accounts' tasks.
- Exit code 3 (partial: some source objects unreadable, named in the log) fails the task so that
  Airflow retries it; after the retries the models still run on what was committed.
- Then one models_shard task per shard runs `permlake models --shard <i>/<n>`: the per-account
  marts of its part of the accounts, published into the lake (only accounts whose inputs changed
  are rebuilt). The shards of one hour run side by side, on any workers.
- Then models_finalize runs `permlake models --finalize`: the organization-level marts, the
  warehouse and marts/_manifest.json. It runs even when a shard failed (a shard's data test
  failing, exit 4, still published its marts) and exits 1, naming the accounts, when some
  account's marts are not up to date.
- Every models task gets the same --now (data_interval_end: the hour after the collected one, as
  `permlake run` would use), so the shards and the final step judge the same window.
- Each shard keeps its rollups in its own state file and cache directory (PERMLAKE_STATE_FILE,
  PERMLAKE_CACHE_DIR under permlake_work_dir, per shard): DuckDB locks a state file, so two shards
  on one worker must not share one. A flock on the state file makes the same shard of two DAG runs
  (max_active_runs=2) on one worker wait for each other. The files stay between runs, so a shard
  that lands on the same worker again aggregates only what the lake gained; on another worker its
  first build aggregates the lake's rollups (slower, same result).
- The lake must be reachable from every worker (s3://, azblob://, or a shared file system): the
  shards publish into it and the final step reads from it.
- Backfills (`airflow dags backfill`) pass each interval's start as --hour.

Configure with Airflow Variables: permlake_config (path of permlake.yaml on the workers),
permlake_bin (default "permlake"), permlake_model_shards (default 4) and permlake_work_dir (where
the shards' state files and caches live on the workers, default /var/lib/permlake). Credentials
come from the workers' environment (instance role, IRSA, workload identity), never from the DAG:
the tasks append their variables to that environment (append_env) rather than replace it.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta

from airflow.decorators import dag, task
from airflow.models import Variable
from airflow.operators.bash import BashOperator

HOUR = "{{ data_interval_start.strftime('%Y-%m-%dT%H') }}"
NEXT_HOUR = "{{ data_interval_end.strftime('%Y-%m-%dT%H') }}"


def _bin() -> str:
    return Variable.get("permlake_bin", default_var="permlake")


def _config() -> str:
    return Variable.get("permlake_config", default_var="/etc/permlake/permlake.yaml")


def _shards() -> int:
    return int(Variable.get("permlake_model_shards", default_var=4))


def _work_dir() -> str:
    return Variable.get("permlake_work_dir", default_var="/var/lib/permlake")


def shard_env(i: int, n: int) -> dict[str, str]:
    """The environment of shard i of n: its own state file and cache directory, kept per shard
    between runs so that its next build on this worker is incremental."""
    part = f"{_work_dir()}/shard-{i}-of-{n}"
    return {
        "PERMLAKE_BIN": _bin(),
        "PERMLAKE_CONFIG": _config(),
        "PERMLAKE_SHARD": f"{i}/{n}",
        "PERMLAKE_STATE_FILE": f"{part}/state.duckdb",
        "PERMLAKE_CACHE_DIR": f"{part}/cache",
    }


@dag(
    dag_id="permlake_hourly",
    schedule="5 * * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=2,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    tags=["permlake", "security"],
)
def permlake_hourly():
    @task
    def list_accounts() -> list[str]:
        out = subprocess.run(
            [_bin(), "accounts", "--config", _config(), "--json"],
            check=True, capture_output=True, text=True, timeout=600,
        ).stdout
        return [row["id"] for row in json.loads(out or "[]")]

    @task
    def list_shards() -> list[dict[str, str]]:
        n = _shards()
        if n < 1:
            raise ValueError(f"permlake_model_shards = {n}: want at least 1")
        return [shard_env(i, n) for i in range(1, n + 1)]

    collect = BashOperator.partial(
        task_id="collect",
        bash_command=(
            '"$PERMLAKE_BIN" run --config "$PERMLAKE_CONFIG" --hour ' + HOUR
            + ' --accounts "$PERMLAKE_ACCOUNT" --no-models'
        ),
        append_env=True,
        max_active_tis_per_dag=8,
    ).expand(
        env=list_accounts().map(
            lambda account: {"PERMLAKE_ACCOUNT": account, "PERMLAKE_BIN": _bin(), "PERMLAKE_CONFIG": _config()}
        )
    )

    shards = BashOperator.partial(
        task_id="models_shard",
        bash_command=(
            'mkdir -p "$(dirname "$PERMLAKE_STATE_FILE")" && flock "$PERMLAKE_STATE_FILE.lock" '
            '"$PERMLAKE_BIN" models --config "$PERMLAKE_CONFIG" --shard "$PERMLAKE_SHARD" --now ' + NEXT_HOUR
        ),
        append_env=True,
        trigger_rule="all_done",  # the models run on what was committed
        retries=1,
    ).expand(env=list_shards())

    finalize = BashOperator(
        task_id="models_finalize",
        bash_command=(
            'mkdir -p "$PERMLAKE_WORK_DIR" && flock "$PERMLAKE_WORK_DIR/finalize.lock" '
            '"$PERMLAKE_BIN" models --config "$PERMLAKE_CONFIG" --finalize --now ' + NEXT_HOUR
        ),
        env={"PERMLAKE_BIN": _bin(), "PERMLAKE_CONFIG": _config(), "PERMLAKE_WORK_DIR": _work_dir()},
        append_env=True,
        trigger_rule="all_done",
        retries=1,
    )

    collect >> shards >> finalize


permlake_hourly()
