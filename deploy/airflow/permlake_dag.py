"""permlake on Airflow: one mapped task per account (AWS account or Azure subscription) and hour,
retried on its own, then one models task for the hour.

- The account list comes from `permlake accounts --json` at run time (dynamic task mapping), so
  accounts discovered through the organization or Azure appear without editing the DAG.
- Each mapped task runs `permlake run --hour <data_interval_start> --accounts <id> --no-models`:
  safe to retry (files already ingested are skipped, partitions merge on event ID) and safe beside
  the other accounts' tasks.
- Exit code 3 (partial: some source objects unreadable, named in the log) fails the task so that
  Airflow retries it; after the retries the models still run on what was committed.
- Backfills (`airflow dags backfill`) pass each interval's start as --hour.

Configure with Airflow Variables: permlake_config (path of permlake.yaml on the workers) and
permlake_bin (default "permlake"). Credentials come from the workers' environment (instance role,
IRSA, workload identity), never from the DAG.
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

    collect = BashOperator.partial(
        task_id="collect",
        bash_command=(
            '"$PERMLAKE_BIN" run --config "$PERMLAKE_CONFIG" --hour ' + HOUR
            + ' --accounts "$PERMLAKE_ACCOUNT" --no-models'
        ),
        max_active_tis_per_dag=8,
    ).expand(
        env=list_accounts().map(
            lambda account: {"PERMLAKE_ACCOUNT": account, "PERMLAKE_BIN": _bin(), "PERMLAKE_CONFIG": _config()}
        )
    )

    models = BashOperator(
        task_id="models",
        bash_command='"$PERMLAKE_BIN" models --config "$PERMLAKE_CONFIG" --now ' + NEXT_HOUR,
        env={"PERMLAKE_BIN": _bin(), "PERMLAKE_CONFIG": _config()},
        trigger_rule="all_done",
        retries=1,
    )

    collect >> models


permlake_hourly()
