"""Creates an AWS resource without an explicit provider, as a component that forgets one would."""

import pulumi_aws as aws

aws.s3.Bucket("forgotten")
