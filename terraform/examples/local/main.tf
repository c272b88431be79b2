# GraphNode on the local AWS emulator (moto server, or LocalStack, on 127.0.0.1:4566): the
# same module a real account gets, so `terraform plan/apply` can be tried with no account.
#
#   .venv/bin/python -m moto.server -H 127.0.0.1 -p 4566 &
#   terraform -chdir=terraform/examples/local init
#   terraform -chdir=terraform/examples/local apply
#
# tests/unit/test_terraform.py runs init, validate, plan and apply of this root against a
# moto server it starts, and compares what it built with `graphnode provision`.

provider "aws" {
  region     = var.region
  access_key = "testing"
  secret_key = "testing"

  # The emulator has no account behind it to check.
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  endpoints {
    cloudwatch = var.endpoint
    iam        = var.endpoint
    s3         = var.endpoint
    sns        = var.endpoint
    sqs        = var.endpoint
    sts        = var.endpoint
  }

  default_tags {
    tags = { Project = "graphnode", Environment = "local" }
  }
}

# An EKS cluster's OIDC provider, as the emulator can hold one, so that the IRSA trust of the
# workload roles is built and applied too.
resource "aws_iam_openid_connect_provider" "eks" {
  url             = "https://oidc.eks.${var.region}.amazonaws.com/id/LOCALGRAPHNODE"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

module "graphnode" {
  source = "../../modules/graphnode"

  upload_cors_origins  = var.upload_cors_origins
  topology_file        = var.topology_file
  name_prefix          = var.name_prefix
  queue_name_prefix    = var.queue_name_prefix
  force_destroy_bucket = true
  # The emulator speaks plain HTTP (and moto enforces bucket policies), so TLS-only policies
  # would lock the local stack out; `graphnode provision` leaves them out there too.
  tls_only = var.tls_only

  eks_oidc_provider_arn         = aws_iam_openid_connect_provider.eks.arn
  keda_operator_service_account = "keda:keda-operator"
}
