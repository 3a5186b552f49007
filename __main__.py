"""The Alex embedding endpoint: one `EmbeddingEndpoint` built from this stack's configuration.

`pulumi config` keys are documented in Pulumi.yaml and the README; `pulumi stack output` shows
the endpoint's name and ARN that the app's later parts call.
"""

import pulumi

from components import EmbeddingEndpoint
from stack_config import args_from_config

embedding = EmbeddingEndpoint("alex-embedding", args_from_config(pulumi.Config()))

pulumi.export("endpoint_name", embedding.endpoint_name)
pulumi.export("endpoint_arn", embedding.endpoint_arn)
pulumi.export("model_name", embedding.model_name)
pulumi.export("endpoint_config_name", embedding.endpoint_config_name)
pulumi.export("role_arn", embedding.role_arn)
pulumi.export("image_uri", embedding.image_uri)
pulumi.export("region", embedding.region)
# For stacks that only hold a StackReference: attach this to any role that calls the endpoint.
pulumi.export("invoke_policy_json", embedding.invoke_policy_json)
