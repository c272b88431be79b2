# GraphNode in an AWS account, for workloads on EKS (IRSA) or ECS, with alarms mailed to
# an address of your choice.
#
#   terraform -chdir=terraform/examples/aws init
#   terraform -chdir=terraform/examples/aws apply \
#     -var 'name_prefix=acme-prod-' \
#     -var 'eks_oidc_provider_arn=arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC' \
#     -var 'alarm_email=ops@example.com'
#
# Then annotate the service accounts in terraform/kubernetes with the role_arns output, and
# give the pods the environment output (terraform/kubernetes/kustomization.yaml).

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "graphnode" }, var.tags)
  }
}

module "graphnode" {
  source = "../../modules/graphnode"

  upload_cors_origins   = var.upload_cors_origins
  name_prefix           = var.name_prefix
  eks_oidc_provider_arn = var.eks_oidc_provider_arn
  trust_ecs_tasks       = var.trust_ecs_tasks
  kms_key_arn           = var.kms_key_arn
  access_log_bucket     = var.access_log_bucket

  # KEDA scales the GPU worker pods on EKS (terraform/kubernetes); its operator needs a role.
  keda_operator_service_account = var.eks_oidc_provider_arn != null ? "keda:keda-operator" : null
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email != null ? 1 : 0

  topic_arn = module.graphnode.sns_topic_arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
