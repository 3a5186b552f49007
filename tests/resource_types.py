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
BUCKET: Final = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK: Final = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_OBJECT: Final = "aws:s3/bucketObjectv2:BucketObjectv2"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCALING_TARGET: Final = "aws:appautoscaling/target:Target"
SCALING_POLICY: Final = "aws:appautoscaling/policy:Policy"
