"""`EmbeddingEndpointArgs` from Python: every rule, one failing value at a time, and all at once."""

from __future__ import annotations

import collections
import types
from typing import Any

import pytest
from pydantic import ValidationError

from components import EmbeddingEndpointArgs, InvalidSettingsError
from components import aws_limits as checks
from components.images import why_unsupported

ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ml-alerts"
REALTIME: dict[str, Any] = {"mode": "realtime", "instance_type": "ml.m5.large"}


def problems(**settings: Any) -> list[str]:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(**settings)
    return [str(problem) for problem in raised.value.problems]


def test_defaults_are_the_reference_deployment() -> None:
    args = EmbeddingEndpointArgs()

    assert args.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert args.task == "feature-extraction"
    assert args.runtime == "huggingface"
    assert args.image_tag is None
    assert args.effective_image_tag == "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
    assert args.image_repository == "huggingface-pytorch-inference"
    assert args.memory_size_in_mb == 3072
    assert args.max_concurrency == 2
    assert args.provisioned_concurrency is None
    assert args.iam_propagation_delay == "15s"
    assert args.role_arn is None
    assert args.creates_role
    assert args.provisioned_scaling is None
    assert args.instance_scaling is None


@pytest.mark.parametrize(
    "settings",
    [
        {"memory_size_in_mb": size, "max_concurrency": 200, "provisioned_concurrency": 200}
        for size in (1024, 2048, 3072, 4096, 5120, 6144)
    ]
    + [
        {"endpoint_name": "a" * 63},
        {"endpoint_name": "a--b-c1"},
        {"model_id": "gpt2"},
        {"model_id": "org/_private-name_"},  # the Hub allows '_' at either end
        {"model_id": "BAAI/bge-small-en-v1.5", "model_revision": "refs/pr/1"},
        {"image_tag": "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04"},
        {"iam_propagation_delay": "1m30s"},
        {"iam_propagation_delay": "0"},
        {"iam_propagation_delay": "10m"},
        {"iam_propagation_delay": "1.5m"},
        {"role_arn": "arn:aws-cn:iam::123456789012:role/path/to/role"},
        {"managed_policy_arns": ("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",)},
        {"managed_policy_arns": tuple(f"arn:aws:iam::123456789012:policy/p{i}" for i in range(20))},
        {"environment": {f"VAR_{i}": "x" * 1024 for i in range(96)}},
        {"environment": {"EMPTY": ""}},
        {"tags": {"team": "ml", "cost:center": "a b/c=d+e-f@g", "équipe 東京": "données 1"}},
        {"tags": {"empty-value": ""}},
        {**REALTIME, "instance_count": 150},
        {**REALTIME, "instance_count": 3, "autoscaling_max_capacity": 4},
        {"max_concurrency": 5, "provisioned_concurrency": 2, "provisioned_concurrency_max": 5},
        {"alarm_model_setup_seconds": 900},
    ],
)
def test_allowed_values_pass(settings: dict[str, Any]) -> None:
    args = EmbeddingEndpointArgs(**settings)

    for name, value in settings.items():
        assert getattr(args, name) == value


def test_a_lone_maximum_scales_from_one() -> None:
    realtime = EmbeddingEndpointArgs(**REALTIME, instance_count=2, autoscaling_max_capacity=4)
    serverless = EmbeddingEndpointArgs(
        max_concurrency=5, provisioned_concurrency=2, provisioned_concurrency_max=5
    )

    assert realtime.instance_scaling == (1, 4)
    assert serverless.provisioned_scaling == (1, 5)


def test_a_list_of_policies_is_kept_as_a_tuple() -> None:
    arn = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"

    assert EmbeddingEndpointArgs(managed_policy_arns=[arn]).managed_policy_arns == (arn,)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"memory_size_in_mb": 3000}, "memory_size_in_mb: 3000 is refused: Input should be a multiple of 1024. Serverless memory, one of 1024, 2048, 3072, 4096, 5120, 6144."),
        ({"memory_size_in_mb": 7168}, "memory_size_in_mb: 7168 is refused: Input should be less than or equal to 6144"),
        ({"memory_size_in_mb": "3072"}, "memory_size_in_mb: '3072' is refused: Input should be a valid integer. Serverless memory"),
        ({"memory_size_in_mb": True}, "memory_size_in_mb: True is refused: Input should be a valid integer"),
        ({"memory_size_in_mb": 3072.0}, "memory_size_in_mb: 3072.0 is refused: Input should be a valid integer"),
        ({"max_concurrency": 0}, "max_concurrency: 0 is refused: Input should be greater than or equal to 1. Serverless maximum concurrent invocations, 1-200"),
        ({"max_concurrency": 201}, "max_concurrency: 201 is refused: Input should be less than or equal to 200"),
        ({"provisioned_concurrency": 3}, "provisioned_concurrency: 3 is above `max_concurrency` (2)"),
        ({"provisioned_concurrency": 0}, "provisioned_concurrency: 0 is refused: Input should be greater than or equal to 1"),
        ({"endpoint_name": "a" * 64}, "endpoint_name: 'aaaa"),
        ({"endpoint_name": "a" * 64}, "is refused: String should have at most 63 characters. Fixed name of the endpoint"),
        ({"endpoint_name": "alex_embedding"}, "endpoint_name: 'alex_embedding' is not allowed. Fixed name of the endpoint that callers invoke: up to 63 letters, digits and hyphens"),
        ({"endpoint_name": "alex.embedding"}, "endpoint_name: 'alex.embedding' is not allowed"),
        ({"endpoint_name": "alex-"}, "endpoint_name: 'alex-' is not allowed"),
        ({"endpoint_name": ""}, "endpoint_name: '' is not allowed"),
        ({"endpoint_name": 7}, "endpoint_name: 7 is refused: Input should be a valid string"),
        ({"model_id": "a/b/c"}, "model_id: 'a/b/c' is not allowed. Hugging Face Hub model id, `name` or `org/name`"),
        ({"model_id": "https://huggingface.co/gpt2"}, "model_id: 'https://huggingface.co/gpt2' is not allowed"),
        ({"model_id": "org/model--name"}, "model_id: 'org/model--name' may not contain '--' or '..'"),
        ({"model_id": "org/model.git"}, "model_id: 'org/model.git' may not contain '--' or '..', nor end in '.git'"),
        ({"secret_settings": {"model_id", "modelid"}}, "names no setting: ['modelid']"),
        ({"model_revision": "main branch"}, "model_revision: 'main branch' is not allowed. Hub branch, tag or commit"),
        ({"task": "Feature Extraction"}, "task: 'Feature Extraction' is not allowed. Lower-case pipeline task"),
        ({"image_tag": "latest"}, "image_tag: 'latest' is not allowed. Full tag of the runtime's image"),
        ({"image_tag": "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"}, "image_tag: is a GPU tag, but a serverless endpoint has no GPUs; give the release's CPU tag"),
        ({"iam_propagation_delay": "15"}, "iam_propagation_delay: '15' is not a Go duration; use a number and unit such as '15s'"),
        ({"iam_propagation_delay": "15 seconds"}, "is not a Go duration"),
        ({"iam_propagation_delay": "-5s"}, "is not a Go duration"),
        ({"iam_propagation_delay": "٣s"}, "is not a Go duration"),
        ({"iam_propagation_delay": "876000h"}, "iam_propagation_delay: '876000h' is over 10m"),
        ({"iam_propagation_delay": "99999999999999999999h"}, "is over 10m"),
        ({"iam_propagation_delay": "10m1ns"}, "is over 10m"),
        ({"role_arn": "sagemaker-execution"}, "role_arn: 'sagemaker-execution' is not allowed. Existing execution role (arn:aws:iam::<account>:role/<name>)"),
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "role_arn: 'arn:aws:iam::12345:role/x' is not allowed"),
        ({"role_arn": "arn:aws:iam::123456789012:user/x"}, "is not allowed"),
        ({"role_arn": "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/x"}, "is not allowed"),
        ({"managed_policy_arns": ["AmazonSageMakerFullAccess"]}, "managed_policy_arns: 'AmazonSageMakerFullAccess' is not allowed. Managed policies (arn:aws:iam::aws:policy/<name>"),
        ({"managed_policy_arns": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}, "managed_policy_arns: 'arn:aws:iam::aws:policy/AmazonSageMakerFullAccess' is refused: 'str' instances are not allowed as a Sequence value"),
        ({"managed_policy_arns": ["arn:aws:iam::aws:policy/X", "arn:aws:iam::123456789012:policy/X"]}, "names more than one policy X"),
        ({"managed_policy_arns": [f"arn:aws:iam::aws:policy/p{i}" for i in range(21)]}, "managed_policy_arns: has 21 entries, over 20"),
        ({"managed_policy_arns": ["arn:aws:iam::aws:policy/X"], "role_arn": ROLE}, "managed_policy_arns: cannot be combined with `role_arn`"),
        ({"environment": {"HF_MODEL_ID": "gpt2"}}, "environment: key 'HF_MODEL_ID' is set by the component; use `model_id`"),
        ({"environment": {"HF_API_TOKEN": "x"}}, "environment: key 'HF_API_TOKEN' is set by the component; use `hf_api_token`"),
        ({"environment": {"1BAD": "x"}}, "environment: key '1BAD' is not allowed. Extra container variables: names of letters, digits and '_'"),
        ({"environment": {"BAD-KEY": "x"}}, "environment: key 'BAD-KEY' is not allowed"),
        ({"environment": {"K" * 1025: "x"}}, "is refused: String should have at most 1024 characters"),
        ({"environment": {"BIG": "x" * 1025}}, "environment: value of 'BIG': 'xxx"),
        ({"environment": {"NUM": 3}}, "environment: value of 'NUM': 3 is refused: Input should be a valid string"),
        ({"environment": "A=1"}, "environment: 'A=1' is refused: Input should be a valid dictionary"),
        ({"environment": {f"V{i}": "x" for i in range(99)}}, "environment: 99 variables and the 2 the component sets make 101; SageMaker allows at most 100"),
        ({"tags": {"aws:owner": "me"}}, "tags: key 'aws:owner' uses the reserved prefix 'aws:'"),
        ({"tags": {"": "x"}}, "tags: key '' is refused: String should have at least 1 character"),
        ({"tags": {"k" * 129: "x"}}, "is refused: String should have at most 128 characters"),
        ({"tags": {"team": "x" * 257}}, "tags: value of 'team': 'xxx"),
        ({"tags": {"team": "ml#1"}}, "tags: value of 'team': 'ml#1' is not allowed. Tags for every taggable resource"),
        ({"tags": {"team": "ml\tops"}}, "tags: value of 'team': 'ml\\tops' is not allowed"),
        ({"tags": {"team": "ml\n"}}, "tags: value of 'team': 'ml\\n' is not allowed"),
        ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags: has 51 entries, over 50"),
        ({"sentence_embeddings": "yes"}, "sentence_embeddings: 'yes' is refused: Input should be a valid boolean"),
        ({"log_retention_days": 10}, "log_retention_days: 10 is not a retention CloudWatch accepts: (1, 3, 5, 7, 14, 30, 60"),
        ({"alarm_topic_arn": "ml-alerts"}, "alarm_topic_arn: 'ml-alerts' is not allowed. SNS topic (arn:aws:sns:<region>:<account>:<topic>)"),
        ({"alarm_model_latency_ms": 0}, "alarm_model_latency_ms: 0 is refused: Input should be greater than or equal to 1. Alarm when the average model latency over 5 minutes exceeds this, 1-60000 ms"),
        ({"hf_api_token": ""}, "hf_api_token: '' is not allowed; use a Hub token"),
        ({"hf_api_token": 42}, "hf_api_token: 42 is not allowed"),
    ],
)  # fmt: skip
def test_each_rule_names_the_setting_and_what_is_allowed(
    settings: dict[str, Any], expected: str
) -> None:
    found = problems(**settings)

    assert len(found) == 1, found
    assert expected in found[0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("endpoint_name", "alex-embedding"),
        ("model_id", "gpt2"),
        ("model_revision", "main"),
        ("task", "feature-extraction"),
        ("image_tag", "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"),
        ("iam_propagation_delay", "15s"),
        ("role_arn", ROLE),
        ("alarm_topic_arn", TOPIC),
    ],
)
def test_every_pattern_matches_the_whole_value(name: str, value: str) -> None:
    settings: dict[str, Any] = {name: value}
    EmbeddingEndpointArgs(**settings)

    for variant in (f"{value}\n", f"{value} ", f" {value}", f"{value}\x00"):
        assert problems(**{name: variant}) != [], repr(variant)


def test_a_trailing_newline_is_refused_in_lists_and_maps_too() -> None:
    found = problems(
        managed_policy_arns=["arn:aws:iam::aws:policy/X\n"],
        tags={"team\n": "ml"},
        environment={"KEY\n": "x"},
    )

    assert [problem.split(":")[0] for problem in found] == [
        "environment",
        "managed_policy_arns",
        "tags",
    ]


def test_every_problem_is_reported_at_once_in_field_order() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(
            endpoint_name="bad_name",
            image_tag="latest",
            memory_size_in_mb=100,
            max_concurrency=0,
            role_arn="nope",
            iam_propagation_delay="soon",
            tags={"aws:x": "y"},
        )

    assert raised.value.settings == (
        "endpoint_name",
        "image_tag",
        "memory_size_in_mb",
        "max_concurrency",
        "role_arn",
        "iam_propagation_delay",
        "tags",
    )
    assert str(raised.value).startswith("EmbeddingEndpointArgs has 7 invalid setting problems:\n")


def test_a_bad_mode_hides_nothing_else() -> None:
    found = problems(mode="Serverless", log_retention_days=10, alarm_model_latency_ms=0)

    assert [problem.split(":")[0] for problem in found] == [
        "mode",
        "log_retention_days",
        "alarm_model_latency_ms",
    ]
    assert found[0].startswith(
        "mode: 'Serverless' is refused: Input should be 'serverless' or 'realtime'. Where the "
        "model runs"
    )


def test_a_rule_over_a_refused_setting_is_skipped_not_misreported() -> None:
    # With mode refused, the realtime settings are not called "settings of the other mode".
    found = problems(mode="Realtime", instance_type="ml.m5.large", instance_count=2)

    assert [problem.split(":")[0] for problem in found] == ["mode"]


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("memory_size_mb", "memory_size_in_mb"),
        ("max_concurency", "max_concurrency"),
        ("instance_typ", "instance_type"),
        ("alarm", "alarms"),
    ],
)
def test_an_unknown_keyword_is_refused_with_a_suggestion(typo: str, meant: str) -> None:
    assert problems(**{typo: 1}) == [f"{typo}: unknown setting; did you mean {meant}?"]


def test_an_unknown_keyword_far_from_any_setting_gets_no_suggestion() -> None:
    assert problems(colour="blue") == ["colour: unknown setting"]


def test_settings_are_frozen() -> None:
    args = EmbeddingEndpointArgs()

    with pytest.raises(ValidationError):
        args.memory_size_in_mb = 4096


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"alarms": False, "alarm_topic_arn": TOPIC}, "alarm_topic_arn: has no effect while `alarms` is off; remove it"),
        ({"alarms": False, "alarm_model_latency_ms": 250}, "alarm_model_latency_ms: has no effect while `alarms` is off"),
        ({**REALTIME, "alarm_model_setup_seconds": 60}, "alarm_model_setup_seconds: applies only to `mode` 'serverless'"),
        ({**REALTIME, "autoscaling_target_invocations": 500}, "autoscaling_target_invocations: has no effect without `autoscaling_max_capacity`"),
        ({**REALTIME, "autoscaling_scale_in_cooldown": 10}, "autoscaling_scale_in_cooldown: has no effect without `autoscaling_max_capacity`"),
        ({**REALTIME, "autoscaling_scale_out_cooldown": 10}, "autoscaling_scale_out_cooldown: has no effect"),
        ({"provisioned_concurrency_target_percent": 50}, "provisioned_concurrency_target_percent: has no effect without `provisioned_concurrency_max`"),
        ({**REALTIME, "image_tag": "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"}, "image_tag: is a GPU tag, but ml.m5.large has no GPUs"),
        ({"role_arn": ROLE, "sentence_embeddings": False, "iam_propagation_delay": "30s"}, "iam_propagation_delay: has no effect with `role_arn`"),
        ({"sentence_embeddings": True, "task": "sentence-similarity"}, "task: has no effect with `sentence_embeddings` on"),
        ({"endpoint_name": None, "log_retention_days": 90}, "log_retention_days: has no effect without `endpoint_name`"),
    ],
)  # fmt: skip
def test_a_setting_with_no_effect_is_an_error_that_says_why(
    settings: dict[str, Any], expected: str
) -> None:
    found = problems(**settings)

    assert len(found) == 1, found
    assert found[0].startswith(expected)


def test_settings_at_their_defaults_are_never_called_unused() -> None:
    EmbeddingEndpointArgs(
        **REALTIME, alarms=False, alarm_model_latency_ms=1000, autoscaling_target_invocations=100
    )
    EmbeddingEndpointArgs(role_arn=ROLE, iam_propagation_delay="15s")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"mode": "realtime"}, ["instance_type: is required with `mode` 'realtime', e.g. 'ml.m5.large'"]),
        ({"instance_type": "ml.m5.large", "instance_count": 2}, ["instance_type: applies only to `mode` 'realtime'; remove it or set `mode` to 'realtime'", "instance_count: applies only to `mode` 'realtime'; remove it or set `mode` to 'realtime'"]),
        ({**REALTIME, "memory_size_in_mb": 4096}, ["memory_size_in_mb: applies only to `mode` 'serverless'; remove it or set `mode` to 'serverless'"]),
        ({**REALTIME, "autoscaling_min_capacity": 2}, ["autoscaling_max_capacity: is needed with `autoscaling_min_capacity`: scaling needs a maximum"]),
        ({**REALTIME, "autoscaling_min_capacity": 5, "autoscaling_max_capacity": 3}, ["autoscaling_min_capacity: 5 is above the maximum `autoscaling_max_capacity` (3)"]),
        ({**REALTIME, "instance_count": 6, "autoscaling_max_capacity": 3}, ["instance_count: 6 is outside the scaling range 1-3"]),
        ({"max_concurrency": 4, "provisioned_concurrency_max": 8, "provisioned_concurrency": 2}, ["provisioned_concurrency_max: 8 is above `max_concurrency` (4)"]),
        ({"max_concurrency": 4, "provisioned_concurrency_max": 3}, ["provisioned_concurrency: is needed to scale it: set where it starts"]),
        ({"max_concurrency": 4, "provisioned_concurrency": 1, "provisioned_concurrency_min": 2, "provisioned_concurrency_max": 3}, ["provisioned_concurrency: 1 is outside the scaling range 2-3"]),
        ({"mode": "realtime", "instance_type": "ml.m5.huge"}, ["instance_type: 'ml.m5.huge' is not a SageMaker endpoint instance type; did you mean ml.m5.large?"]),
        ({"mode": "realtime", "instance_type": "ml.inf2.xlarge"}, ["instance_type: 'ml.inf2.xlarge' cannot run these images: AWS Neuron accelerators need a Neuron image; use an x86 CPU or NVIDIA GPU type"]),
        ({"mode": "realtime", "instance_type": "ml.c7g.large"}, ["instance_type: 'ml.c7g.large' cannot run these images: Graviton (Arm) CPUs need an Arm image; use an x86 CPU or NVIDIA GPU type"]),
        ({"mode": "realtime", "instance_type": "ml.g5.xlarge", "image_tag": "2.3.0-transformers4.48.0-cpu-py311-ubuntu22.04"}, ["image_tag: '2.3.0-transformers4.48.0-cpu-py311-ubuntu22.04' has no known GPU build; give the release's GPU tag"]),
    ],
)  # fmt: skip
def test_capacity_rules(settings: dict[str, Any], expected: list[str]) -> None:
    assert problems(**settings) == expected


def test_instance_types_are_botocores_minus_those_the_images_cannot_run() -> None:
    accepted, refused = [], []
    for instance_type in sorted(checks.instance_types()):
        try:
            EmbeddingEndpointArgs(mode="realtime", instance_type=instance_type)
            accepted.append(instance_type)
        except InvalidSettingsError:
            refused.append(instance_type)

    assert "ml.m5.large" in accepted
    assert "ml.g5.xlarge" in accepted
    assert refused == sorted(t for t in checks.instance_types() if why_unsupported(t))
    assert len(accepted) > 100


def test_limits_come_from_the_service_models() -> None:
    concurrency = checks.shape("sagemaker", "ServerlessMaxConcurrency")
    assert (concurrency["min"], concurrency["max"]) == (1, 200)
    assert checks.shape("sagemaker", "EndpointName")["max"] == 63
    retentions = checks.log_retention_days()
    assert (retentions[:5], retentions[-1], len(retentions)) == ((1, 3, 5, 7, 14), 3653, 22)


@pytest.mark.parametrize(
    "settings",
    [
        {**REALTIME, "instance_count": 3_000_000_000},
        {**REALTIME, "autoscaling_max_capacity": 2, "autoscaling_scale_in_cooldown": 10**20},
        {"alarm_model_setup_seconds": 10**400},
        {**REALTIME, "autoscaling_max_capacity": 2**31},
    ],
)
def test_integers_stop_at_what_an_aws_integer_holds(settings: dict[str, Any]) -> None:
    assert any("less than or equal to 2147483647" in problem for problem in problems(**settings))


def test_hostile_values_are_settings_errors_not_crashes() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]

    found = problems(tags=deep, iam_propagation_delay="1" * 5000 + "s")

    assert found[0].startswith("iam_propagation_delay: '1111")
    assert found[0].endswith("' is over 10m; IAM changes reach SageMaker in seconds")
    assert found[1].startswith("tags: a list too deep or large to show is refused: Input should")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/r/",
        "arn:aws:iam::123456789012:rolex",
        "arn:aws:iam::123456789012:role//",
        "arn:aws:iam::123456789012:role/" + "r" * 65,
    ],
)
def test_role_arns_follow_iams_own_names_and_paths(arn: str) -> None:
    assert problems(role_arn=arn)[0].startswith(f"role_arn: {arn[:56]!r}"[:40])


def test_a_policy_name_is_at_most_128_characters() -> None:
    EmbeddingEndpointArgs(managed_policy_arns=["arn:aws:iam::aws:policy/" + "p" * 128])

    assert problems(managed_policy_arns=["arn:aws:iam::aws:policy/" + "p" * 129])


def test_a_config_key_in_python_is_an_unknown_keyword_with_the_python_name() -> None:
    assert problems(memorySizeInMb=4096) == [
        "memorySizeInMb: unknown setting; did you mean memory_size_in_mb?"
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"tags": {"ok": "v", "bad": "x\n"}}, "tags: value of 'bad': 'x\\n' is not allowed"),
        ({"environment": {"GOOD": "x", "1BAD": "x"}}, "environment: key '1BAD' is not allowed"),
        ({"managed_policy_arns": ["arn:aws:iam::aws:policy/A", "no"]}, "managed_policy_arns: 'no' is not allowed"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_named_by_its_key_and_skips_the_rules_over_its_list_or_map(
    settings: dict[str, Any], expected: str
) -> None:
    """Rules over a whole list or map (its count, duplicates) need all of it: they wait until
    the bad entry is fixed rather than judge what is left."""
    assert [problem.split(". ")[0] for problem in problems(**settings)] == [expected]


def test_rules_still_run_over_the_settings_that_were_accepted() -> None:
    found = problems(
        memory_size_in_mb=3000,
        max_concurrency=4,
        provisioned_concurrency_max=8,
        alarms=False,
        alarm_topic_arn=TOPIC,
    )

    assert [problem.split(":")[0] for problem in found] == [
        "memory_size_in_mb",
        "provisioned_concurrency",
        "provisioned_concurrency_max",
        "alarm_topic_arn",
    ]


def test_any_mapping_or_sequence_will_do() -> None:
    args = EmbeddingEndpointArgs(
        tags=types.MappingProxyType({"team": "ml"}),
        environment=types.MappingProxyType({"LOG_LEVEL": "20"}),
        managed_policy_arns=collections.deque(["arn:aws:iam::aws:policy/A"]),
    )

    assert args.tags == {"team": "ml"}
    assert args.environment == {"LOG_LEVEL": "20"}
    assert args.managed_policy_arns == ("arn:aws:iam::aws:policy/A",)


def test_a_gpu_instance_runs_the_gpu_build_of_a_release_or_the_gpu_tag_given() -> None:
    gpu: dict[str, Any] = {"mode": "realtime", "instance_type": "ml.g5.xlarge"}
    newer_gpu_tag = "2.3.0-transformers4.48.0-gpu-py311-cu121-ubuntu22.04"

    assert EmbeddingEndpointArgs(**gpu).effective_image_tag == (
        "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"
    )
    assert (
        EmbeddingEndpointArgs(**gpu, image_tag=newer_gpu_tag).effective_image_tag == newer_gpu_tag
    )
    assert EmbeddingEndpointArgs(**REALTIME).effective_image_tag == (
        "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # The token rule reads neither the environment nor anything else that was refused.
        ({"runtime": "tei", "image_tag": "2.0.1-tei1.4.0-cpu-py310-ubuntu22.04", "hf_api_token": "hf_x", "environment": {"1bad": "x"}},
         ["hf_api_token", "environment"]),
        ({"role_arn": "arn:aws:iam::123456789012:role/a!b/x"}, ["role_arn"]),
        ({"runtime": "tei", "environment": {"MAX_BATCH_TOKENS": "9" * 30}}, ["environment"]),
        ({"hf_api_token": "hf_abc\n"}, ["hf_api_token"]),
        ({"hf_api_token": " "}, ["hf_api_token"]),
    ],
)  # fmt: skip
def test_what_a_hostile_review_found_is_refused(
    settings: dict[str, Any], expected: list[str]
) -> None:
    assert [problem.split(":")[0] for problem in problems(**settings)] == expected


@pytest.mark.parametrize("data", [{1: 2}, [1, 2], None, "abc"])
def test_data_that_is_no_mapping_of_names_is_a_settings_error(data: Any) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs.model_validate(data)

    assert raised.value.problems[0].message.endswith(
        "unknown setting" if isinstance(data, dict) else "give a mapping of names to values"
    )
