"""`EmbeddingEndpoint`: a Hugging Face embedding model on a SageMaker Serverless endpoint.

Children, in dependency order: execution role -> its policy -> an IAM propagation wait ->
model -> endpoint configuration -> endpoint.

Update safety: the model and the endpoint configuration carry no fixed names. SageMaker models
and endpoint configurations are immutable, so any change to the image, the model, memory or
concurrency replaces them. With auto-names Pulumi creates the replacements first under fresh
names, points the (fixed-name) endpoint at the new configuration with an in-place
UpdateEndpoint, and only then deletes the old ones. Fixed names, as in the Terraform reference,
make that replacement fail with "already exists", or force a delete-first that takes the
endpoint down, or leave it serving the old model.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumiverse_time as time

from components import model_archive, naming, operations, policies
from components.args import EmbeddingEndpointArgs
from components.stack_config import aws_region
from container import INFERENCE_SCRIPT, tei

TYPE_TOKEN: Final = "alex:sagemaker:EmbeddingEndpoint"
VARIANT_NAME: Final = "AllTraffic"


class EmbeddingEndpoint(pulumi.ComponentResource):
    """A SageMaker endpoint (serverless or realtime) serving a Hub model through the HF image
    or Text Embeddings Inference.

    Later stacks reuse it directly, or read the exported endpoint name and ARN through a
    StackReference.
    """

    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    model_name: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    image_uri: pulumi.Output[str]
    region: pulumi.Output[str]
    invoke_policy_json: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EmbeddingEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Checked again with what only now is known, before anything is registered: the name,
        # and the region (unless an explicit provider decides it at deployment).
        explicit = _has_explicit_provider(opts)
        args = args.for_deployment(
            name, checks_region=not explicit, region=None if explicit else aws_region()
        )
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._tags = dict(args.tags) or None

        # Invokes run through the component's provider, so a component given an explicit
        # provider (another region or account) looks up that region's image and ARNs.
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        self.region = aws.get_region_output(opts=invoke_opts).region
        partition = aws.get_partition_output(opts=invoke_opts).partition
        # The provider's own table of prebuilt images: the registry account differs per region
        # (ap-east-1, af-south-1, ...), and an image from another region cannot be pulled.
        image = aws.sagemaker.get_prebuilt_ecr_image_output(
            repository_name=args.image_repository,
            image_tag=args.effective_image_tag,
            region=self.region,
            opts=invoke_opts,
        )
        self.image_uri = image.registry_path

        role: aws.iam.Role | None = None
        grants: list[pulumi.Resource] = []
        if args.role_arn is None:
            role = aws.iam.Role(
                naming.child_name(name, naming.ROLE),
                description=f"SageMaker execution role of the {name} embedding endpoint",
                assume_role_policy=policies.to_json(policies.sagemaker_trust_policy()),
                tags=self._tags,
                opts=self._child(),
            )
            self.role_arn = role.arn
            role_name: pulumi.Input[str] = role.name
            grants += self._grant_execution_permissions(
                role, args.managed_policy_arns, partition, image.registry_id, args.image_repository
            )
        else:
            self.role_arn = pulumi.Output.from_input(args.role_arn)
            role_name = args.role_arn.rsplit("/", 1)[-1]

        model_data_url: pulumi.Output[str] | None = None
        if args.sentence_embeddings:
            archive = self._model_archive()
            model_data_url = pulumi.Output.concat("s3://", archive.bucket, "/", archive.key)
            grants.append(self._grant_archive_read(role_name, archive, partition))

        model_depends_on: list[pulumi.Resource] = []
        if grants:
            # IAM is eventually consistent: CreateModel can fail to assume a role whose policy
            # was attached a moment ago. The wait re-runs whenever the role is replaced.
            model_depends_on.append(
                time.Sleep(
                    naming.child_name(name, naming.IAM_PROPAGATION),
                    create_duration=args.iam_propagation_delay,
                    triggers={"role_arn": self.role_arn},
                    opts=self._child(depends_on=grants),
                )
            )

        model = aws.sagemaker.Model(
            naming.child_name(name, naming.MODEL),
            execution_role_arn=self.role_arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=self.image_uri,
                mode="SingleModel",
                environment=_container_environment(args),
                model_data_url=model_data_url,
            ),
            tags=self._tags,
            opts=self._child(
                depends_on=model_depends_on,
                additional_secret_outputs=(
                    ["primary_container"] if args.hf_api_token is not None else None
                ),
            ),
        )
        endpoint_config = aws.sagemaker.EndpointConfiguration(
            naming.child_name(name, naming.ENDPOINT_CONFIG),
            production_variants=[_production_variant(args, model.name)],
            tags=self._tags,
            opts=self._child(),
        )
        # With a known endpoint name the component owns its log group, made before the endpoint
        # so SageMaker writes into a group that has a retention.
        endpoint_depends_on: list[pulumi.Resource] = []
        if args.endpoint_name is not None:
            endpoint_depends_on.append(
                operations.log_group(name, args.endpoint_name, args, self._child())
            )
        endpoint = aws.sagemaker.Endpoint(
            naming.child_name(name, naming.ENDPOINT),
            name=args.endpoint_name,
            endpoint_config_name=endpoint_config.name,
            tags=self._tags,
            opts=self._child(depends_on=endpoint_depends_on),
        )
        if args.instance_scaling or args.provisioned_scaling:
            operations.autoscaling(name, endpoint, args, self._child())
        if args.alarms:
            operations.alarms(name, endpoint, args, self._child())

        self.model_name = model.name
        self.endpoint_config_name = endpoint_config.name
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.invoke_policy_json = self.endpoint_arn.apply(
            lambda arn: policies.to_json(policies.invoke_endpoint_policy(arn))
        )
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_arn": self.endpoint_arn,
                "model_name": self.model_name,
                "endpoint_config_name": self.endpoint_config_name,
                "role_arn": self.role_arn,
                "image_uri": self.image_uri,
                "region": self.region,
                "invoke_policy_json": self.invoke_policy_json,
            }
        )

    def grant_invoke(self, role: aws.iam.Role, *, name: str | None = None) -> aws.iam.RolePolicy:
        """Let `role` call InvokeEndpoint on this endpoint and nothing else.

        The policy is named after the component and the role's logical name (or `name`), so
        several roles can be granted; it is a child of this component, so it goes with it.
        """
        grant_name = name or f"{naming.INVOKE_GRANT}-{role._name}"
        return aws.iam.RolePolicy(
            naming.child_name(self._name, grant_name),
            role=role.id,
            policy=self.invoke_policy_json,
            opts=self._child(),
        )

    def _child(
        self,
        *,
        depends_on: Sequence[pulumi.Resource] | None = None,
        additional_secret_outputs: list[str] | None = None,
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self,
            depends_on=list(depends_on or []),
            additional_secret_outputs=additional_secret_outputs,
        )

    def _model_archive(self) -> aws.s3.BucketObjectv2:
        """A private, encrypted bucket the component owns, holding the handler's archive."""
        archive = model_archive.build(INFERENCE_SCRIPT)
        bucket = aws.s3.Bucket(
            naming.child_name(self._name, naming.CODE_BUCKET),
            force_destroy=True,  # it holds only the archive this component uploads
            tags=self._tags,
            opts=self._child(),
        )
        settings = [
            aws.s3.BucketPublicAccessBlock(
                naming.child_name(self._name, naming.CODE_BUCKET_PUBLIC_ACCESS),
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=self._child(),
            ),
            aws.s3.BucketOwnershipControls(
                naming.child_name(self._name, naming.CODE_BUCKET_OWNERSHIP),
                bucket=bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                opts=self._child(),
            ),
            aws.s3.BucketServerSideEncryptionConfiguration(
                naming.child_name(self._name, naming.CODE_BUCKET_ENCRYPTION),
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        )
                    )
                ],
                opts=self._child(),
            ),
        ]
        return aws.s3.BucketObjectv2(
            naming.child_name(self._name, naming.MODEL_ARCHIVE),
            bucket=bucket.id,
            key=model_archive.object_key(archive),
            content_base64=base64.b64encode(archive).decode(),
            content_type="application/gzip",
            server_side_encryption="AES256",
            tags=self._tags,
            opts=self._child(depends_on=settings),
        )

    def _grant_archive_read(
        self,
        role_name: pulumi.Input[str],
        archive: aws.s3.BucketObjectv2,
        partition: pulumi.Output[str],
    ) -> aws.iam.RolePolicy:
        """s3:GetObject on the archive alone, on whichever role the model runs as."""
        document = pulumi.Output.all(partition, archive.bucket, archive.key).apply(
            lambda values: policies.to_json(
                policies.read_object_policy(policies.s3_object_arn(*values))
            )
        )
        return aws.iam.RolePolicy(
            naming.child_name(self._name, naming.MODEL_ARCHIVE_READ),
            role=role_name,
            policy=document,
            opts=self._child(),
        )

    def _grant_execution_permissions(
        self,
        role: aws.iam.Role,
        managed_policy_arns: Sequence[str],
        partition: pulumi.Output[str],
        registry_id: pulumi.Output[str],
        repository: str,
    ) -> list[pulumi.Resource]:
        """Attach the requested managed policies, or else the least-privilege inline policy."""
        if managed_policy_arns:
            return [
                aws.iam.RolePolicyAttachment(
                    naming.managed_policy_attachment_name(self._name, arn),
                    role=role.name,
                    policy_arn=arn,
                    opts=self._child(),
                )
                for arn in managed_policy_arns
            ]
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        document = pulumi.Output.all(partition, self.region, account_id, registry_id).apply(
            lambda values: policies.to_json(
                policies.execution_policy(
                    partition=values[0],
                    region=values[1],
                    account_id=values[2],
                    ecr_repository=policies.ecr_repository_arn(
                        values[0], values[1], values[3], repository
                    ),
                )
            )
        )
        return [
            aws.iam.RolePolicy(
                naming.child_name(self._name, naming.EXECUTION_POLICY),
                role=role.id,
                policy=document,
                opts=self._child(),
            )
        ]


def _has_explicit_provider(opts: pulumi.ResourceOptions | None) -> bool:
    """Whether an AWS provider other than the stack's default deploys the component."""
    if opts is None:
        return False
    providers = opts.providers or []
    candidates = [
        opts.provider,
        *(providers.values() if isinstance(providers, dict) else providers),
    ]
    if any(isinstance(provider, aws.Provider) for provider in candidates):
        return True
    return (
        opts.parent is not None
        and opts.parent.get_provider("aws:sagemaker/model:Model") is not None
    )


def _production_variant(
    args: EmbeddingEndpointArgs, model_name: pulumi.Output[str]
) -> aws.sagemaker.EndpointConfigurationProductionVariantArgs:
    """Serverless capacity, or instances. Changing mode changes the configuration, which is
    replaced under a new name while the endpoint is updated in place."""
    if args.is_serverless:
        return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=VARIANT_NAME,
            model_name=model_name,
            serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                memory_size_in_mb=args.memory_size_in_mb,
                max_concurrency=args.max_concurrency,
                provisioned_concurrency=args.provisioned_concurrency,
            ),
        )
    return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
        variant_name=VARIANT_NAME,
        model_name=model_name,
        instance_type=args.instance_type,
        initial_instance_count=args.instance_count,
    )


def _container_environment(args: EmbeddingEndpointArgs) -> Mapping[str, pulumi.Input[str]]:
    """The variables the runtime reads, plus the caller's extras (which may tune TEI's batch
    limits, but not the settings the component owns).

    The token is wrapped as a secret even when passed as a plain string, so it is encrypted in
    the state and masked in previews.
    """
    environment: dict[str, pulumi.Input[str]]
    if args.runtime == "tei":
        environment = {**tei.environment(args.model_id, args.model_revision), **args.environment}
        token_variable = tei.TOKEN_VARIABLE
    else:
        environment = {**args.environment, "HF_MODEL_ID": args.model_id, "HF_TASK": args.task}
        if args.model_revision is not None:
            environment["HF_MODEL_REVISION"] = args.model_revision
        token_variable = "HF_API_TOKEN"
    if args.hf_api_token is not None:
        environment[token_variable] = pulumi.Output.secret(args.hf_api_token)
    return environment
