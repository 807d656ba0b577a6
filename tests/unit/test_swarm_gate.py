"""Swarm's services and tasks read as pending / ready / failed (the engine's own JSON shapes)."""

from stackctl.health.gate import State
from stackctl.swarm.gate import Before, before, observe

SPEC = {"Image": "api:stackctl-2"}


def service(replicas=3, update=None, spec=SPEC, force=0):
    found = {"Spec": {"Mode": {"Replicated": {"Replicas": replicas}},
                      "TaskTemplate": {"ContainerSpec": spec, "ForceUpdate": force}}}
    if update:
        found["UpdateStatus"] = update
    return found


def task(state, spec=SPEC, desired="running", err=None, iteration=None, ts="2026-11-23T10:00:00Z"):
    found = {"DesiredState": desired, "Spec": {"ContainerSpec": spec, "ForceUpdate": 0},
             "Status": {"State": state, "Timestamp": ts, **({"Err": err} if err else {})}}
    if iteration is not None:
        found["JobIteration"] = {"Index": iteration}
    return found


def test_ready_when_as_many_tasks_of_the_current_spec_run_as_wanted():
    assert observe(service(), [task("running")] * 3, Before()).state is State.READY
    seen = observe(service(), [task("running")] * 2 + [task("starting")], Before())
    assert seen.state is State.PENDING and seen.detail == "2/3 running"


def test_tasks_of_the_old_spec_do_not_count_during_an_update():
    old = {"Image": "api:stackctl-1"}
    update = {"State": "updating", "StartedAt": "t2"}
    seen = observe(service(update=update), [task("running", spec=old)] * 3 + [task("running")], Before("t1"))
    assert seen.state is State.PENDING and seen.detail == "updating: 1/3 running"


def test_an_update_swarm_rolled_back_is_failed_with_the_task_error():
    update = {"State": "rollback_completed", "StartedAt": "t2", "Message": "rollback completed"}
    tasks = [task("failed", desired="shutdown", err="task: non-zero exit (1)")]
    seen = observe(service(update=update), tasks, Before("t1"))
    assert seen.state is State.FAILED
    assert seen.detail == "swarm rolled the update back: rollback completed; last task: task: non-zero exit (1)"


def test_an_old_rollback_from_an_earlier_deploy_is_not_this_one():
    update = {"State": "rollback_completed", "StartedAt": "t1"}
    assert observe(service(update=update), [task("running")] * 3, Before("t1")).state is State.READY


def test_a_job_is_ready_when_a_task_of_this_iteration_completes_and_failed_when_it_fails():
    job = {"Spec": {"Mode": {"ReplicatedJob": {}}, "TaskTemplate": {"ContainerSpec": SPEC}},
           "JobStatus": {"JobIteration": {"Index": 7}}}
    assert observe(job, [task("complete", iteration=6)], Before(job_iteration=7)).detail == "waiting for swarm to run it"
    assert observe(job, [task("complete", iteration=6), task("running", iteration=7)], Before(job_iteration=6)).state \
        is State.PENDING
    assert observe(job, [task("complete", iteration=7)], Before(job_iteration=6)).state is State.READY
    failed = observe(job, [task("failed", iteration=7, err="task: non-zero exit (2)")], Before(job_iteration=6))
    assert failed.state is State.FAILED and failed.detail == "failed: task: non-zero exit (2)"


def test_before_remembers_the_update_and_job_iteration():
    assert before(None) == Before()
    assert before(service(update={"StartedAt": "t1", "State": "completed"})) == Before("t1", None, existed=True)


def test_a_rollback_stackctl_asked_for_is_done_when_swarm_completes_a_new_one():
    from stackctl.swarm.gate import rolled_back

    was = Before("t1", existed=True)
    assert rolled_back(service(update={"StartedAt": "t1", "State": "updating"}), was).state is State.PENDING
    assert rolled_back(service(update={"StartedAt": "t2", "State": "rollback_started"}), was).state is State.PENDING
    assert rolled_back(service(update={"StartedAt": "t2", "State": "rollback_completed"}), was).state is State.READY


def test_scaled_to_zero_once_no_task_runs_or_is_on_its_way():
    from stackctl.swarm.gate import scaled_to_zero

    stopping = scaled_to_zero(service(replicas=0), [task("shutdown", desired="shutdown"), task("running",
                                                                                                 desired="shutdown")])
    assert stopping.state is State.PENDING and stopping.detail == "1 task(s) stopping"
    assert scaled_to_zero(service(replicas=0), [task("shutdown", desired="shutdown"),
                                                task("complete", desired="shutdown")]).state is State.READY
    assert scaled_to_zero(None, []).state is State.READY

