"""Type tokens of the resources the program registers, as the engine sees them."""

from typing import Final

COMPONENT: Final = "alex:sagemaker:EmbeddingEndpoint"
ROLE: Final = "aws:iam/role:Role"
POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
SLEEP: Final = "time:index/sleep:Sleep"
MODEL: Final = "aws:sagemaker/model:Model"
CONFIG: Final = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT: Final = "aws:sagemaker/endpoint:Endpoint"
POLICY_ATTACHMENT: Final = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
