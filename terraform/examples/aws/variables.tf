variable "region" {
  description = "AWS region of the queues, the bucket, the alarms."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of the bucket (a global name), role, policy and topic names, e.g. \"acme-prod-\"."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags on every resource (provider default_tags)."
  type        = map(string)
  default     = {}
}

variable "eks_oidc_provider_arn" {
  description = "The EKS cluster's IAM OIDC provider ARN, for IRSA. Null: ECS task roles only."
  type        = string
  default     = null
}

variable "trust_ecs_tasks" {
  description = "Let ECS tasks assume the workload roles."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for queues, bucket and topic; null: AWS-owned keys."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Bucket for the payload bucket's access logs; null: none."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "An address subscribed to the alarm topic (confirm the mail AWS sends). Null: none."
  type        = string
  default     = null
}

variable "upload_cors_origins" {
  description = "Origins of the web page (the API's public address, e.g. \"https://graphnode.example.com\") allowed to PUT large exports to the bucket; empty: none."
  type        = list(string)
  default     = []
}
