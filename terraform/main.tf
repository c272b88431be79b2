# GraphNode — the AWS side.
#
# Queues, dead-letter queues and the payload bucket are declared once, in
# ../graphnode/topology.yaml, which `graphnode provision` reads as well. This module only
# decides *how* they are built (encryption, redrive permissions, public access, alarms, IAM);
# names, timeouts, retention, maxReceiveCount and the lifecycle come from the YAML. Change
# them there, nowhere else.
#
#   queues.<name>          -> aws_sqs_queue.this["<name>"]  (redrive to its DLQ)
#   queues.<name>.dlq      -> aws_sqs_queue.dlq["<name>"]   (redrive-allow: its source only)
#   bucket                 -> aws_s3_bucket.payloads        ("${var.name_prefix}<name>")
#   bucket.claim_check_prefixes -> one lifecycle rule each: expire after bucket.expiration_days
#
# The bucket is not short-lived as a whole: only the claim checks (the prefixes above: request
# inputs, task outputs) expire. graphs/ (local.graphs_prefix) holds each user's current graph
# and its embeddings, copied there out of results/ by the result worker, and never expires;
# the result worker deletes the copies of a graph when a newer one replaces it.
#
# Roles: the request queue is the one whose name ends in "-req" (API -> GPU workers), the
# result queue the one ending in "-res" (GPU workers -> result workers). The IAM policies in
# iam.tf and the autoscaling below are built on these two roles.
#
# Files: versions.tf (terraform, provider), variables.tf, main.tf (queues, bucket, alarms,
# autoscaling), iam.tf (the API, GPU worker and result worker policies), outputs.tf.
#
# Autoscaling (optional, var.gpu_autoscaling_group_name): step scaling on the request queue's
# depth. Step scaling rather than target tracking on "backlog per instance" because the GPU
# group may scale to zero, where backlog per instance is undefined:
#   * scale out  — visible messages >= threshold: +N instances (2N at twice the threshold);
#   * from zero  — messages visible but none in flight for the same periods: nobody is
#                  consuming, add N instances (so one job alone is never stranded);
#   * scale in   — nothing visible and nothing in flight for a long while: set the group to
#                  var.gpu_scale_in_capacity. In-flight messages stay invisible while their
#                  task runs (the worker's visibility heartbeat), so busy workers are never
#                  scaled away from under a task.
#
# Usage:
#   terraform init && terraform apply -var 'name_prefix=acme-prod-' \
#     -var 'alarm_actions=["arn:aws:sns:...:ops"]' -var 'gpu_autoscaling_group_name=graphnode-gpu'
# then attach the three policy ARNs (outputs) to the API, GPU worker and result worker roles.

locals {
  topology = yamldecode(file("${path.module}/../graphnode/topology.yaml"))
  queues   = local.topology.queues
  bucket   = local.topology.bucket

  # Kept objects (graphnode/payloads.py, graph_key): no lifecycle rule, and no claim-check
  # prefix may cover it (see the lifecycle configuration's precondition).
  graphs_prefix = "graphs/"

  request_queue = one([for name in keys(local.queues) : name if endswith(name, "-req")])
  result_queue  = one([for name in keys(local.queues) : name if endswith(name, "-res")])

  autoscaling_enabled = var.gpu_autoscaling_group_name != null
}

################################################################################
# SQS: one dead-letter queue beside each queue
################################################################################

resource "aws_sqs_queue" "dlq" {
  for_each = local.queues

  name                      = "${var.queue_name_prefix}${each.value.dlq.name}"
  message_retention_seconds = each.value.dlq.message_retention_seconds
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "this" {
  for_each = local.queues

  name                       = "${var.queue_name_prefix}${each.key}"
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.message_retention_seconds
  receive_wait_time_seconds  = each.value.receive_wait_time_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.dlq.max_receive_count
  })

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

################################################################################
# S3: the payload bucket (claim checks expire; graphs/ is kept)
################################################################################

resource "aws_s3_bucket" "payloads" {
  bucket = "${var.name_prefix}${local.bucket.name}"
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
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  # Claim checks only need to outlive retries, DLQ inspection and redrive: one expiration
  # rule per claim-check prefix. Deliberately none for graphs/.
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

  # Large payloads go up in parts; parts of an upload that never completed are invisible
  # but billed. Drop them, bucket-wide (graphs/ included: an unfinished upload is never a
  # kept object), on the same schedule as the claim checks.
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
      # An empty prefix would expire the whole bucket, and one covering graphs/ (or inside
      # it) would expire the users' current graphs.
      condition = length(local.bucket.claim_check_prefixes) > 0 && alltrue([
        for prefix in local.bucket.claim_check_prefixes :
        length(prefix) > 1 && endswith(prefix, "/") &&
        !startswith(local.graphs_prefix, prefix) && !startswith(prefix, local.graphs_prefix)
      ])
      error_message = "topology.yaml bucket.claim_check_prefixes must be non-empty folder prefixes (\"inputs/\") that neither cover nor lie inside ${local.graphs_prefix}."
    }
  }
}

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
  bucket = aws_s3_bucket.payloads.id
  policy = data.aws_iam_policy_document.payloads_bucket.json

  # Put the policy after the public access block, or the two calls may race.
  depends_on = [aws_s3_bucket_public_access_block.payloads]
}

################################################################################
# CloudWatch: queue depth and dead letters
################################################################################

resource "aws_cloudwatch_metric_alarm" "request_backlog_high" {
  alarm_name        = "${aws_sqs_queue.this[local.request_queue].name}-backlog-high"
  alarm_description = "Tasks are waiting on ${aws_sqs_queue.this[local.request_queue].name} faster than the GPU workers take them."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.this[local.request_queue].name
  }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.request_queue_scale_out_evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.request_queue_scale_out_threshold
  # An idle queue stops publishing metrics after a few hours: idle is not a backlog.
  treat_missing_data = "notBreaching"

  alarm_actions = concat(var.alarm_actions, aws_autoscaling_policy.gpu_scale_out[*].arn)
  ok_actions    = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = local.queues

  alarm_name        = "${aws_sqs_queue.dlq[each.key].name}-not-empty"
  alarm_description = "Messages of ${aws_sqs_queue.this[each.key].name} failed ${each.value.dlq.max_receive_count} times and were moved to ${aws_sqs_queue.dlq[each.key].name}: inspect them, then redrive or purge."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.dlq[each.key].name
  }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = var.alarm_actions
  ok_actions    = var.alarm_actions
}

locals {
  # The request queue's depth, by the query id the scale-from-zero and scale-in alarms'
  # expressions use: messages waiting, and messages taken by a worker but not yet deleted.
  request_queue_depth_metrics = {
    visible  = "ApproximateNumberOfMessagesVisible"
    inflight = "ApproximateNumberOfMessagesNotVisible"
  }
}

resource "aws_cloudwatch_metric_alarm" "request_unserved" {
  count = local.autoscaling_enabled ? 1 : 0

  alarm_name        = "${aws_sqs_queue.this[local.request_queue].name}-unserved"
  alarm_description = "Tasks wait on ${aws_sqs_queue.this[local.request_queue].name} and none is in flight: no GPU worker is consuming (scaled to zero?)."

  evaluation_periods  = var.request_queue_scale_out_evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "unserved"
    expression  = "IF(visible > 0 AND inflight == 0, 1, 0)"
    label       = "Visible tasks with no task in flight"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.request_queue_depth_metrics

    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/SQS"
        metric_name = metric_query.value
        dimensions = {
          QueueName = aws_sqs_queue.this[local.request_queue].name
        }
        stat   = "Maximum"
        period = var.alarm_period_seconds
      }
    }
  }

  alarm_actions = aws_autoscaling_policy.gpu_scale_from_zero[*].arn
}

resource "aws_cloudwatch_metric_alarm" "request_idle" {
  count = local.autoscaling_enabled ? 1 : 0

  alarm_name        = "${aws_sqs_queue.this[local.request_queue].name}-idle"
  alarm_description = "Nothing waits on ${aws_sqs_queue.this[local.request_queue].name} and nothing is in flight: the GPU workers can go."

  evaluation_periods  = var.request_queue_scale_in_evaluation_periods
  comparison_operator = "LessThanOrEqualToThreshold"
  threshold           = 0
  # An idle queue stops publishing metrics after a few hours: that is idle too.
  treat_missing_data = "breaching"

  metric_query {
    id          = "outstanding"
    expression  = "visible + inflight"
    label       = "Visible and in-flight tasks"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.request_queue_depth_metrics

    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/SQS"
        metric_name = metric_query.value
        dimensions = {
          QueueName = aws_sqs_queue.this[local.request_queue].name
        }
        stat   = "Maximum"
        period = var.alarm_period_seconds
      }
    }
  }

  alarm_actions = aws_autoscaling_policy.gpu_scale_in[*].arn
}

################################################################################
# Autoscaling of the GPU workers' group on the request queue's depth (optional)
################################################################################

resource "aws_autoscaling_policy" "gpu_scale_out" {
  count = local.autoscaling_enabled ? 1 : 0

  name                      = "${aws_sqs_queue.this[local.request_queue].name}-scale-out"
  autoscaling_group_name    = var.gpu_autoscaling_group_name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  metric_aggregation_type   = "Maximum"
  estimated_instance_warmup = var.gpu_instance_warmup_seconds

  # Bounds are relative to the backlog alarm's threshold.
  step_adjustment {
    metric_interval_lower_bound = 0
    metric_interval_upper_bound = var.request_queue_scale_out_threshold
    scaling_adjustment          = var.gpu_scale_out_adjustment
  }

  step_adjustment {
    metric_interval_lower_bound = var.request_queue_scale_out_threshold
    scaling_adjustment          = 2 * var.gpu_scale_out_adjustment
  }
}

resource "aws_autoscaling_policy" "gpu_scale_from_zero" {
  count = local.autoscaling_enabled ? 1 : 0

  name                      = "${aws_sqs_queue.this[local.request_queue].name}-scale-from-zero"
  autoscaling_group_name    = var.gpu_autoscaling_group_name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  metric_aggregation_type   = "Maximum"
  estimated_instance_warmup = var.gpu_instance_warmup_seconds

  step_adjustment {
    metric_interval_lower_bound = 0
    scaling_adjustment          = var.gpu_scale_out_adjustment
  }
}

resource "aws_autoscaling_policy" "gpu_scale_in" {
  count = local.autoscaling_enabled ? 1 : 0

  name                    = "${aws_sqs_queue.this[local.request_queue].name}-scale-in"
  autoscaling_group_name  = var.gpu_autoscaling_group_name
  policy_type             = "StepScaling"
  adjustment_type         = "ExactCapacity"
  metric_aggregation_type = "Maximum"

  # The idle alarm fires at or below 0 outstanding tasks.
  step_adjustment {
    metric_interval_upper_bound = 0
    scaling_adjustment          = var.gpu_scale_in_capacity
  }
}
