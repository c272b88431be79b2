# No provider block: the calling root module configures the AWS provider (region, endpoints,
# default tags), as in ../../examples/local and ../../examples/aws.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
