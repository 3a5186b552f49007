"""The Alex embedding endpoint: one `EmbeddingEndpoint` built from this stack's configuration.

`pulumi config` keys are documented in Pulumi.yaml and the README; `pulumi stack output` shows
the endpoint's name and ARN that the app's later parts call.
"""

import pulumi

from components import EmbeddingEndpoint
from stack_config import args_from_config, refuse_updates_aws_refuses

args = args_from_config(pulumi.Config())
# This stack's last deployment, to refuse before anything changes what AWS would refuse to do.
this_stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
refused = refuse_updates_aws_refuses(args, pulumi.StackReference(this_stack))
embedding = EmbeddingEndpoint(
    "alex-embedding", args, pulumi.ResourceOptions(depends_on=refused.apply(lambda _: []))
)

pulumi.export("endpoint_name", embedding.endpoint_name)
pulumi.export("endpoint_arn", embedding.endpoint_arn)
pulumi.export("model_name", embedding.model_name)
pulumi.export("endpoint_config_name", embedding.endpoint_config_name)
pulumi.export("role_arn", embedding.role_arn)
pulumi.export("image_uri", embedding.image_uri)
pulumi.export("region", embedding.region)
pulumi.export("capacity", args.update_refused_key)
# For stacks that only hold a StackReference: attach this to any role that calls the endpoint.
pulumi.export("invoke_policy_json", embedding.invoke_policy_json)
