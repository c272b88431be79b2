# GraphNode — the AWS side, as a reusable module (no provider block: the caller configures
# the AWS provider; see ../../examples/local and ../../examples/aws).
#
# Queues, dead-letter queues and the payload bucket are declared once, in
# graphnode/contract/topology.yaml (var.topology_file), which `graphnode provision` reads as well.
# This module only decides *how* they are built (encryption, TLS-only and redrive
# permissions, public access, alarms, IAM); names, timeouts, retention, maxReceiveCount and
# the lifecycle come from the YAML. Change them there, nowhere else.
#
#   queues.<name>          -> aws_sqs_queue.this["<name>"]  (redrive to its DLQ)
#   queues.<name>.dlq      -> aws_sqs_queue.dlq["<name>"]   (redrive-allow: its source only)
#   bucket                 -> aws_s3_bucket.payloads        ("${var.name_prefix}<name>")
#   bucket.claim_check_prefixes -> one lifecycle rule each: expire after bucket.expiration_days
#
# The bucket is not short-lived as a whole: only the claim checks (the prefixes above: request
# inputs, task outputs) expire. The kept-graphs prefix (local.graphs_prefix) holds each user's
# current graph and its embeddings, copied there out of results/ by the result worker, and
# never expires; copies a newer graph replaced expire after a grace period when the YAML
# declares one (bucket.superseded_expiration_days).
#
# Roles: the request queue is the one whose name ends in "-req" (API -> GPU workers), the
# result queue the one ending in "-res" (GPU workers -> result workers). The IAM policies and
# roles in iam.tf and the alarms and autoscaling in alarms.tf are built on these two roles.
#
# Files: versions.tf, variables.tf, main.tf (queues, bucket), iam.tf (policies and roles of
# the API, the GPU worker, the result worker and the KEDA operator), alarms.tf (SNS topic,
# alarms, optional EC2 autoscaling), outputs.tf.

locals {
  topology_file = coalesce(var.topology_file, "${path.module}/../../../graphnode/contract/topology.yaml")
  topology      = yamldecode(file(local.topology_file))
  queues        = local.topology.queues
  bucket        = local.topology.bucket

  # Kept objects (graphnode/contract/payloads.py, graph_key): no claim-check prefix may cover them
  # (see the lifecycle configuration's precondition).
  graphs_prefix              = try(local.bucket.kept_graphs_prefix, "graphs/")
  superseded_expiration_days = try(local.bucket.superseded_expiration_days, null)

  request_queue = one([for name in keys(local.queues) : name if endswith(name, "-req")])
  result_queue  = one([for name in keys(local.queues) : name if endswith(name, "-res")])

  # A message may wait its queue's retention, then its DLQ's, before `graphnode dlq
  # redrive` sends it back; its claim-check object must still exist then. The same rule as
  # graphnode/contract/topology.py applies when the YAML is loaded.
  seconds_per_day              = 86400
  longest_message_life_seconds = max([for spec in values(local.queues) : spec.message_retention_seconds + spec.dlq.message_retention_seconds]...)

  kms_enabled = var.kms_key_arn != null
}

################################################################################
# SQS: one dead-letter queue beside each queue
################################################################################

resource "aws_sqs_queue" "dlq" {
  for_each = local.queues

  name                      = "${var.queue_name_prefix}${each.value.dlq.name}"
  message_retention_seconds = each.value.dlq.message_retention_seconds

  # SSE-SQS by default (no key policy to manage); SSE-KMS with var.kms_key_arn.
  sqs_managed_sse_enabled = local.kms_enabled ? null : true
  kms_master_key_id       = var.kms_key_arn

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  for_each = local.queues

  name                       = "${var.queue_name_prefix}${each.key}"
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.message_retention_seconds
  receive_wait_time_seconds  = each.value.receive_wait_time_seconds

  sqs_managed_sse_enabled = local.kms_enabled ? null : true
  kms_master_key_id       = var.kms_key_arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.dlq.max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.request_queue != null && local.result_queue != null
      error_message = "topology.yaml must declare exactly one queue ending in \"-req\" and one ending in \"-res\"."
    }
    precondition {
      # A DLQ must keep a message longer than its source queue did, or redriven messages
      # expire early (SQS keeps the original enqueue timestamp).
      condition     = each.value.dlq.message_retention_seconds >= each.value.message_retention_seconds
      error_message = "The DLQ of ${each.key} must retain messages at least as long as the queue itself."
    }
  }
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

# TLS only, on every queue and DLQ: a request over plain HTTP is denied whoever sends it
# (var.tls_only; off only for an emulator that speaks plain HTTP).
data "aws_iam_policy_document" "queue_tls_only" {
  for_each = var.tls_only ? merge(
    { for name, queue in aws_sqs_queue.this : name => queue.arn },
    { for name, queue in aws_sqs_queue.dlq : "${name}-dlq" => queue.arn },
  ) : {}

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "tls_only" {
  for_each = var.tls_only ? merge(
    { for name, queue in aws_sqs_queue.this : name => queue.id },
    { for name, queue in aws_sqs_queue.dlq : "${name}-dlq" => queue.id },
  ) : {}

  queue_url = each.value
  policy    = data.aws_iam_policy_document.queue_tls_only[each.key].json
}

################################################################################
# S3: the payload bucket (claim checks expire; kept graphs do not)
################################################################################

resource "aws_s3_bucket" "payloads" {
  # checkov:skip=CKV_AWS_21:No versioning, on purpose. Claim checks are written once under a fresh key and expire in days; a replaced graph's copies are deleted or expired because the user's data must go with them. A version history would keep every deleted graph and its embeddings.
  # checkov:skip=CKV_AWS_144:No cross-region replication: every object is either a transient claim check or a copy of a graph the store can rebuild by generating again; a replica would double the copies of personal data to delete.
  # checkov:skip=CKV2_AWS_62:No event notifications: the workers learn of new objects from the SQS messages that carry their keys.
  # checkov:skip=CKV_AWS_18:Server access logging is optional (var.access_log_bucket), since it needs a separate log bucket the caller owns.
  # checkov:skip=CKV_AWS_145:SSE-S3 by default, SSE-KMS with var.kms_key_arn: a customer key is the caller's choice (its key policy must let the three roles use it).
  bucket = "${var.name_prefix}${local.bucket.name}"

  force_destroy = var.force_destroy_bucket

  tags = var.tags
}

resource "aws_s3_bucket_logging" "payloads" {
  count = var.access_log_bucket != null ? 1 : 0

  bucket        = aws_s3_bucket.payloads.id
  target_bucket = var.access_log_bucket
  target_prefix = "${aws_s3_bucket.payloads.id}/"
}

resource "aws_s3_bucket_ownership_controls" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.kms_enabled ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.kms_enabled
  }
}

# The web page PUTs a large export to a presigned URL of this bucket, from the API's origin:
# a cross-origin request the browser sends only if this rule allows it. The rule's shape is
# topology.yaml's (bucket.upload_cors); the origins are the deployment's.
resource "aws_s3_bucket_cors_configuration" "payloads" {
  count = length(var.upload_cors_origins) > 0 && try(local.bucket.upload_cors, null) != null ? 1 : 0

  bucket = aws_s3_bucket.payloads.id

  cors_rule {
    id              = "browser-upload"
    allowed_origins = var.upload_cors_origins
    allowed_methods = local.bucket.upload_cors.allowed_methods
    allowed_headers = local.bucket.upload_cors.allowed_headers
    expose_headers  = local.bucket.upload_cors.expose_headers
    max_age_seconds = local.bucket.upload_cors.max_age_seconds
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  # Claim checks only need to outlive retries, DLQ inspection and redrive: one expiration
  # rule per claim-check prefix. None for the kept graphs, except their superseded copies.
  dynamic "rule" {
    for_each = toset(local.bucket.claim_check_prefixes)

    content {
      id     = "expire-${trimsuffix(rule.value, "/")}"
      status = "Enabled"

      filter {
        prefix = rule.value
      }

      expiration {
        days = local.bucket.expiration_days
      }
    }
  }

  # A graph copy that no current graph uses any more is tagged by the result worker
  # (graphnode/contract/payloads.py, SUPERSEDED_TAG) and expires after the grace period, so requests
  # already sent against it still find it.
  dynamic "rule" {
    for_each = local.superseded_expiration_days != null ? [local.superseded_expiration_days] : []

    content {
      id     = "expire-superseded-graphs"
      status = "Enabled"

      # The tag alone: only the result worker sets it, on graph copies. (A prefix-and-tag
      # filter is equivalent but makes the provider wait forever on the local emulator.)
      filter {
        tag {
          key   = "graphnode-superseded"
          value = "true"
        }
      }

      expiration {
        days = rule.value
      }
    }
  }

  # Large payloads go up in parts; parts of an upload that never completed are invisible
  # but billed. Drop them, bucket-wide (an unfinished upload is never a kept object), on the
  # claim checks' schedule.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = local.bucket.expiration_days
    }
  }

  lifecycle {
    precondition {
      # An empty prefix would expire the whole bucket, and one covering the kept graphs (or
      # inside them) would expire the users' current graphs.
      condition = length(local.bucket.claim_check_prefixes) > 0 && alltrue([
        for prefix in local.bucket.claim_check_prefixes :
        length(prefix) > 1 && endswith(prefix, "/") &&
        !startswith(local.graphs_prefix, prefix) && !startswith(prefix, local.graphs_prefix)
      ])
      error_message = "topology.yaml bucket.claim_check_prefixes must be non-empty folder prefixes (\"inputs/\") that neither cover nor lie inside ${local.graphs_prefix}."
    }
    precondition {
      condition     = local.bucket.expiration_days * local.seconds_per_day >= local.longest_message_life_seconds
      error_message = "topology.yaml bucket.expiration_days (${local.bucket.expiration_days}) is shorter than a message can live in a queue and then its DLQ (${local.longest_message_life_seconds / local.seconds_per_day} days): a redrive would find its claim-check payload expired. Raise it to at least ${ceil(local.longest_message_life_seconds / local.seconds_per_day)} or shorten the retentions."
    }
  }
}

# TLS only: any request over plain HTTP is denied, whoever sends it (var.tls_only).
data "aws_iam_policy_document" "payloads_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.payloads.arn,
      "${aws_s3_bucket.payloads.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "payloads" {
  count = var.tls_only ? 1 : 0

  bucket = aws_s3_bucket.payloads.id
  policy = data.aws_iam_policy_document.payloads_bucket.json

  # Put the policy after the public access block, or the two calls may race.
  depends_on = [aws_s3_bucket_public_access_block.payloads]
}
