# Least-privilege policies for the three GraphNode processes. Attach each to its role
# (ECS task role, EC2 instance profile, ...); this module does not create the roles.
#
#   API            puts inputs and sends tasks to the request queue. Nothing in
#                  graphs/.
#   GPU worker     consumes the request queue, reads inputs and the current graph and its
#                  features (graphs/, for add-node and summary), writes results, sends results
#                  and progress to the result queue. Never touches the database or Redis.
#   result worker  consumes the result queue, reads results (and the inputs they refer to);
#                  keeps a new graph by copying its graph.json and features.json from results/
#                  to graphs/ (CopyObject: GetObject on the source, PutObject on the target),
#                  reads the copies back, and deletes the copies of the graph it replaces.
#
# Consumers need ChangeMessageVisibility for the visibility heartbeat and for handing a
# message back at once on SIGTERM; DeleteMessage also covers DeleteMessageBatch, PutObject the
# multipart upload calls. The queues use SSE-SQS, so no KMS permission is needed.

locals {
  payload_inputs  = "${aws_s3_bucket.payloads.arn}/inputs/*"
  payload_results = "${aws_s3_bucket.payloads.arn}/results/*"
  payload_graphs  = "${aws_s3_bucket.payloads.arn}/${local.graphs_prefix}*"

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
    sid = "SendTasks"
    actions = [
      "sqs:SendMessage",
      "sqs:GetQueueUrl",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.this[local.request_queue].arn]
  }

  statement {
    sid       = "ReadinessBucket" # /readyz: HeadBucket
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.payloads.arn]
  }
}

resource "aws_iam_policy" "api" {
  name        = "${var.name_prefix}graphnode-api"
  description = "GraphNode API: put inputs in ${aws_s3_bucket.payloads.id}; send tasks to ${aws_sqs_queue.this[local.request_queue].name}."
  policy      = data.aws_iam_policy_document.api.json
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
}

resource "aws_iam_policy" "gpu_worker" {
  name        = "${var.name_prefix}graphnode-gpu-worker"
  description = "GraphNode GPU worker: consume ${aws_sqs_queue.this[local.request_queue].name}, send to ${aws_sqs_queue.this[local.result_queue].name}; get inputs and graphs, put results in ${aws_s3_bucket.payloads.id}."
  policy      = data.aws_iam_policy_document.gpu_worker.json
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
    sid = "KeepGraphs"
    actions = [
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = [local.payload_graphs]
  }
}

resource "aws_iam_policy" "result_worker" {
  name        = "${var.name_prefix}graphnode-result-worker"
  description = "GraphNode result worker: consume ${aws_sqs_queue.this[local.result_queue].name}; get results, inputs and graphs from ${aws_s3_bucket.payloads.id}; copy kept graphs into and delete replaced ones from its graphs/."
  policy      = data.aws_iam_policy_document.result_worker.json
}
