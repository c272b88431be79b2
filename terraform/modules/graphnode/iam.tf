# Least-privilege policies for the three GraphNode processes, and one IAM role per process
# (var.create_roles) that EKS pods assume through IRSA (var.eks_oidc_provider_arn and the
# Kubernetes service accounts) and ECS tasks assume as their task role (var.trust_ecs_tasks).
# A fourth role lets the KEDA operator read the request queue's depth to scale the GPU
# worker pods. With create_roles = false, attach the policy outputs to roles of your own.
#
#   API            puts inputs and sends tasks to the request queue. Nothing in
#                  graphs/.
#   GPU worker     consumes the request queue, reads inputs and the current graph and its
#                  features (graphs/, for add-node and summary), writes results, sends results
#                  and progress to the result queue. Never touches the database or Redis.
#   result worker  consumes the result queue, reads results (and the inputs they refer to);
#                  keeps a new graph by copying its graph.json and features.json from results/
#                  to graphs/ (CopyObject: GetObject on the source, PutObject on the target),
#                  reads the copies back, and tags the copies of the graph it replaces
#                  (graphnode-superseded), which the lifecycle expires after a grace period.
#
# Consumers need ChangeMessageVisibility for the visibility heartbeat and for handing a
# message back at once on SIGTERM; DeleteMessage also covers DeleteMessageBatch, PutObject the
# multipart upload calls. With SSE-SQS and SSE-S3 (the default) no KMS permission is needed;
# with var.kms_key_arn each role gets kms:GenerateDataKey and kms:Decrypt on that key.

locals {
  payload_inputs  = "${aws_s3_bucket.payloads.arn}/inputs/*"
  payload_results = "${aws_s3_bucket.payloads.arn}/results/*"
  payload_graphs  = "${aws_s3_bucket.payloads.arn}/${local.graphs_prefix}*"
  payload_uploads = "${aws_s3_bucket.payloads.arn}/uploads/*"

  consumer_sqs_actions = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
  ]
}

################################################################################
# API (Flask)
################################################################################

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "PutInputs"
    actions   = ["s3:PutObject"]
    resources = [local.payload_inputs]
  }

  statement {
    # Presigned uploads (POST /v1/uploads): the API signs the PUT, checks the object's size
    # and reads it into an input, then deletes it.
    sid       = "PresignedUploads"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = [local.payload_uploads]
  }

  statement {
    sid       = "ReadinessBucket" # /readyz: HeadBucket
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.payloads.arn]
  }

  statement {
    sid = "SendTasks"
    actions = [
      "sqs:SendMessage",
      "sqs:GetQueueUrl",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.this[local.request_queue].arn]
  }

  dynamic "statement" {
    for_each = local.kms_enabled ? [var.kms_key_arn] : []

    content {
      sid       = "UseEncryptionKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "api" {
  name        = "${var.name_prefix}graphnode-api"
  description = "GraphNode API: put inputs in ${aws_s3_bucket.payloads.id}; send tasks to ${aws_sqs_queue.this[local.request_queue].name}."
  policy      = data.aws_iam_policy_document.api.json

  tags = var.tags
}

################################################################################
# GPU worker (celery -A graphnode worker -Q graph-req)
################################################################################

data "aws_iam_policy_document" "gpu_worker" {
  statement {
    sid       = "ConsumeTasks"
    actions   = local.consumer_sqs_actions
    resources = [aws_sqs_queue.this[local.request_queue].arn]
  }

  statement {
    sid = "SendResults"
    actions = [
      "sqs:SendMessage",
      "sqs:GetQueueUrl",
    ]
    resources = [aws_sqs_queue.this[local.result_queue].arn]
  }

  statement {
    sid       = "GetInputs"
    actions   = ["s3:GetObject"]
    resources = [local.payload_inputs]
  }

  statement {
    sid       = "PutResults"
    actions   = ["s3:PutObject"]
    resources = [local.payload_results]
  }

  statement {
    sid       = "GetGraphs"
    actions   = ["s3:GetObject"]
    resources = [local.payload_graphs]
  }

  dynamic "statement" {
    for_each = local.kms_enabled ? [var.kms_key_arn] : []

    content {
      sid       = "UseEncryptionKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "gpu_worker" {
  name        = "${var.name_prefix}graphnode-gpu-worker"
  description = "GraphNode GPU worker: consume ${aws_sqs_queue.this[local.request_queue].name}, send to ${aws_sqs_queue.this[local.result_queue].name}; get inputs and graphs, put results in ${aws_s3_bucket.payloads.id}."
  policy      = data.aws_iam_policy_document.gpu_worker.json

  tags = var.tags
}

################################################################################
# Result worker (celery -A graphnode worker -Q graph-res)
################################################################################

data "aws_iam_policy_document" "result_worker" {
  statement {
    sid       = "ConsumeResults"
    actions   = local.consumer_sqs_actions
    resources = [aws_sqs_queue.this[local.result_queue].arn]
  }

  statement {
    sid     = "GetPayloads"
    actions = ["s3:GetObject"]
    resources = [
      local.payload_results,
      local.payload_inputs,
      local.payload_graphs,
    ]
  }

  statement {
    # Copies a committed graph into graphs/; tags the copies no current graph uses, which
    # the bucket's lifecycle then expires after a grace period.
    sid = "KeepGraphs"
    actions = [
      "s3:PutObject",
      "s3:PutObjectTagging",
    ]
    resources = [local.payload_graphs]
  }

  dynamic "statement" {
    for_each = local.kms_enabled ? [var.kms_key_arn] : []

    content {
      sid       = "UseEncryptionKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "result_worker" {
  name        = "${var.name_prefix}graphnode-result-worker"
  description = "GraphNode result worker: consume ${aws_sqs_queue.this[local.result_queue].name}; get results, inputs and graphs from ${aws_s3_bucket.payloads.id}; copy kept graphs into its graphs/ and tag replaced ones for expiry."
  policy      = data.aws_iam_policy_document.result_worker.json

  tags = var.tags
}

################################################################################
# Roles: one per workload, assumed by EKS pods (IRSA) and/or ECS tasks
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  irsa_enabled = var.eks_oidc_provider_arn != null
  # The issuer without its scheme, as IAM condition keys spell it
  # ("oidc.eks.<region>.amazonaws.com/id/<id>"); derived from the provider's ARN unless given.
  eks_oidc_issuer = local.irsa_enabled ? trimprefix(coalesce(
    var.eks_oidc_provider_url, element(split("oidc-provider/", var.eks_oidc_provider_arn), 1)
  ), "https://") : null

  workloads = {
    api = {
      description     = "GraphNode API (Flask)"
      policy_arn      = aws_iam_policy.api.arn
      service_account = var.kubernetes_service_accounts.api
    }
    gpu-worker = {
      description     = "GraphNode GPU worker (celery -A graphnode worker -Q ${local.request_queue})"
      policy_arn      = aws_iam_policy.gpu_worker.arn
      service_account = var.kubernetes_service_accounts.gpu_worker
    }
    result-worker = {
      description     = "GraphNode result worker (celery -A graphnode worker -Q ${local.result_queue})"
      policy_arn      = aws_iam_policy.result_worker.arn
      service_account = var.kubernetes_service_accounts.result_worker
    }
  }
  roles = var.create_roles ? local.workloads : {}
}

data "aws_iam_policy_document" "assume_role" {
  for_each = local.roles

  dynamic "statement" {
    for_each = local.irsa_enabled ? [each.value.service_account] : []

    content {
      sid     = "EksServiceAccount"
      actions = ["sts:AssumeRoleWithWebIdentity"]

      principals {
        type        = "Federated"
        identifiers = [var.eks_oidc_provider_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.eks_oidc_issuer}:sub"
        values   = ["system:serviceaccount:${var.kubernetes_namespace}:${statement.value}"]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.eks_oidc_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.trust_ecs_tasks ? [1] : []

    content {
      sid     = "EcsTasks"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "Service"
        identifiers = ["ecs-tasks.amazonaws.com"]
      }

      # Only tasks of this account's ECS in this region (the confused-deputy guard).
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"]
      }
    }
  }
}

resource "aws_iam_role" "workload" {
  for_each = local.roles

  name                 = "${var.name_prefix}graphnode-${each.key}"
  description          = each.value.description
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary_arn
  assume_role_policy   = data.aws_iam_policy_document.assume_role[each.key].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.irsa_enabled || var.trust_ecs_tasks
      error_message = "create_roles needs someone to trust: set eks_oidc_provider_arn (EKS pods, IRSA) and/or trust_ecs_tasks = true."
    }
  }
}

resource "aws_iam_role_policy_attachment" "workload" {
  for_each = local.roles

  role       = aws_iam_role.workload[each.key].name
  policy_arn = each.value.policy_arn
}

################################################################################
# KEDA operator (IRSA): reads the request queue's depth to scale the GPU worker pods
################################################################################

locals {
  # Decided by inputs known at plan time (not by the OIDC provider's ARN, which a caller may
  # create in the same apply).
  keda_enabled = var.create_roles && var.keda_operator_service_account != null
}

data "aws_iam_policy_document" "keda_assume_role" {
  count = local.keda_enabled ? 1 : 0

  statement {
    sid     = "EksServiceAccount"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.eks_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.eks_oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.keda_operator_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.eks_oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "keda" {
  statement {
    sid       = "ReadRequestQueueDepth"
    actions   = ["sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.this[local.request_queue].arn]
  }
}

resource "aws_iam_role" "keda" {
  count = local.keda_enabled ? 1 : 0

  name                 = "${var.name_prefix}graphnode-keda-operator"
  description          = "KEDA operator: reads the depth of ${aws_sqs_queue.this[local.request_queue].name} to scale the GPU worker pods."
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary_arn
  assume_role_policy   = data.aws_iam_policy_document.keda_assume_role[0].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.irsa_enabled
      error_message = "The KEDA operator's role is assumed through IRSA: set eks_oidc_provider_arn, or keda_operator_service_account = null."
    }
  }
}

resource "aws_iam_role_policy" "keda" {
  count = local.keda_enabled ? 1 : 0

  name   = "read-request-queue-depth"
  role   = aws_iam_role.keda[0].id
  policy = data.aws_iam_policy_document.keda.json
}
