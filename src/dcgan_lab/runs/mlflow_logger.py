"""MLflow tracking: by default a SQLite store that ``mlflow ui`` opens, one MLflow run per
run folder (a resume continues it), a multirun as a parent run with a child per job."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning_fabric.utilities.logger import _convert_params, _flatten_dict
from pytorch_lightning.loggers import MLFlowLogger

from dcgan_lab.errors import UserError
from dcgan_lab.runs.atomic import atomic_write_text
from dcgan_lab.runs.identity import hydra_identity, launch_dir, sweep_dir
from dcgan_lab.runs.network import url_answers
from dcgan_lab.runs.run_dir import RunDir, read_json_object
from dcgan_lab.runs.run_log import say

PARAM_VALUE_LIMIT = 6000  # MLflow's longest param value
PARENT_RECORD = "mlflow_parent.json"  # in the sweep folder: the multirun's parent run


def tracking_uri_for(store: str | None, tracking_uri: str | None) -> str:
    """A server's or a database's URI as given, else ``sqlite:///`` + the store's absolute
    path (relative to where the command was started)."""
    if tracking_uri:
        return tracking_uri
    if not store:
        raise UserError("logger.mlflow: set store (a SQLite file) or tracking_uri (a server)")
    path = (launch_dir() / store).resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as err:
        raise UserError(
            f"logger.mlflow.store={store!r}: cannot write the MLflow database there "
            f"({err.strerror}); choose a writable file (e.g. outputs/mlflow.db)"
        ) from None
    return f"sqlite:///{path}"


def require_reachable(uri: str, timeout_s: float = 2.0) -> None:
    """A server URI must answer a TCP connect now: MLflow's client would retry for minutes."""
    if urlparse(uri).scheme not in ("http", "https") or url_answers(uri, timeout_s):
        return
    raise UserError(
        f"logger.mlflow.tracking_uri={uri!r}: no MLflow server answers there; start it "
        "(mlflow server) or leave tracking_uri=null for the local SQLite store"
    )


def build_mlflow_logger(
    run_dir: str,
    experiment_name: str = "dcgan-lab",
    tracking_uri: str | None = None,
    store: str | None = "outputs/mlflow.db",
    run_name: str | None = None,
    tags: list[str] | None = None,
) -> ProjectMlflowLogger:
    """The MLflow logger of a run: a resume in the same folder continues its MLflow run; a
    multirun's job is a child of the sweep's parent run (``mlflow.parentRunId``)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError(
            "logger=mlflow needs MLflow, which is not installed: pip install 'dcgan-lab[mlflow]'"
        ) from None
    if not isinstance(experiment_name, str) or not experiment_name.strip():
        raise UserError(
            f"logger.mlflow.experiment_name={experiment_name!r}: name the MLflow experiment "
            "(e.g. logger.mlflow.experiment_name=dcgan-lab)"
        )
    uri = tracking_uri_for(store, tracking_uri)
    require_reachable(uri)
    run = RunDir(Path(run_dir))
    earlier = read_json_object(run.mlflow_record) or {}
    run_id = earlier.get("run_id") if earlier.get("tracking_uri") == uri else None
    default_name, group = hydra_identity()
    from mlflow.exceptions import MlflowException

    run_tags = {"dcgan.run_dir": str(run.root.absolute()), "dcgan.tags": ", ".join(tags or [])}
    sweep = sweep_dir()
    try:
        client = MlflowClient(uri)
        if sweep is not None and run_id is None:
            with sweep_lock(sweep):  # jobs side by side: one creates experiment and parent
                experiment_id = experiment_for(client, experiment_name, uri)
                parent = parent_run(client, experiment_id, sweep, group, uri)
                run_tags["mlflow.parentRunId"] = parent
        else:
            experiment_id = experiment_for(client, experiment_name, uri)
    except MlflowException as err:
        raise UserError(
            f"logger.mlflow.tracking_uri={uri!r}: MLflow cannot use it "
            f"({str(err).splitlines()[0]}); give a server (http://host:5000) or a database URI"
        ) from None
    return ProjectMlflowLogger(
        run_dir=run.root,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name or default_name,
        tracking_uri=uri,
        tags=run_tags,
        run_id=run_id,
    )


class sweep_lock:
    """An exclusive lock on the sweep folder, held by one job at a time."""

    def __init__(self, sweep: Path) -> None:
        sweep.mkdir(parents=True, exist_ok=True)
        self.handle = open(sweep / ".mlflow.lock", "a")  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.handle.close()  # releases the flock


def experiment_for(client: Any, name: str, uri: str) -> str:
    """The id of the experiment called ``name``, created (its artifacts beside a SQLite
    store, in ``mlartifacts/``) when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage != "deleted":
        return str(found.experiment_id)
    if found is not None:
        raise UserError(
            f"logger.mlflow.experiment_name={name!r}: that MLflow experiment is deleted; "
            f"restore it (mlflow experiments restore --experiment-id {found.experiment_id}) "
            "or choose another name"
        )
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def parent_run(client: Any, experiment_id: str, sweep: Path, group: str | None, uri: str) -> str:
    """The sweep's parent run: made by its first job, its id kept in the sweep folder."""
    record_path = sweep / PARENT_RECORD
    record = read_json_object(record_path) or {}
    if record.get("tracking_uri") == uri and record.get("run_id"):
        return str(record["run_id"])
    parent = client.create_run(experiment_id, run_name=group, tags={"dcgan.sweep_dir": str(sweep)})
    atomic_write_text(record_path, json.dumps({"tracking_uri": uri, "run_id": parent.info.run_id}))
    return str(parent.info.run_id)


class ProjectMlflowLogger(MLFlowLogger):
    """Lightning's MLFlowLogger plus the run folder's files as artifacts, the MLflow run id
    kept in ``<run>/mlflow.json`` for a resume, and params that a resume cannot clash on."""

    def __init__(self, run_dir: Path, experiment_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_dir = RunDir(run_dir)
        self._experiment_id = experiment_id
        self.resumed = kwargs.get("run_id") is not None
        self.recorded = False

    def log_hyperparams(self, params: Any) -> None:
        from mlflow.entities import Param

        self.record_run()
        flat = {
            k: str(v)[:PARAM_VALUE_LIMIT] for k, v in _flatten_dict(_convert_params(params)).items()
        }
        # MLflow refuses to change a param; a resume (ckpt_path, a longer max_epochs) keeps
        # the first value in MLflow, while config.yaml holds the one that ran.
        logged = self.experiment.get_run(self.run_id).data.params
        changed = sorted(k for k, v in flat.items() if k in logged and logged[k] != v)
        if changed:
            say(f"MLflow keeps the first value of {', '.join(changed)} (see config.yaml)")
        new = [Param(k, v) for k, v in flat.items() if k not in logged]
        for start in range(0, len(new), 100):  # MLflow's batch limit
            self.experiment.log_batch(self.run_id, params=new[start : start + 100])

    def record_run(self) -> None:
        """Write ``<run>/mlflow.json`` once the MLflow run exists (creating it), and mark a
        continued run as running again."""
        if self.recorded:
            return
        self.recorded = True
        record = {"tracking_uri": self._tracking_uri, "run_id": self.run_id,
                  "experiment_id": self.experiment_id}  # fmt: skip
        atomic_write_text(self.run_dir.mlflow_record, json.dumps(record, indent=2))
        if self.resumed:
            self.experiment.update_run(self.run_id, status="RUNNING")
            say(f"MLflow: continuing run {self.run_id}")

    def log_sample_grid(self, path: Path, step: int) -> None:
        self.experiment.log_artifact(self.run_id, str(path), "samples")

    def log_animation(self, path: Path, step: int) -> None:
        self.experiment.log_artifact(self.run_id, str(path), "samples")

    def finalize(self, status: str = "success") -> None:
        if self._initialized:
            for path in (self.run_dir.config, self.run_dir.checkpoint("best")):
                if path.exists():
                    self.experiment.log_artifact(self.run_id, str(path))
        super().finalize(status)
