variable "endpoint" {
  description = "URL of the AWS emulator."
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "region" {
  description = "Region the emulator is asked for."
  type        = string
  default     = "us-east-1"
}

variable "topology_file" {
  description = "The topology YAML; null: the repository's graphnode/contract/topology.yaml."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of the bucket, role, policy and topic names (lets a second copy share the emulator)."
  type        = string
  default     = ""
}

variable "queue_name_prefix" {
  description = "Prefix of the queue names."
  type        = string
  default     = ""
}

variable "tls_only" {
  description = "Add the TLS-only policies anyway (the tests do, to compare them with `graphnode provision`); the stack cannot use the bucket over plain HTTP then."
  type        = bool
  default     = false
}

variable "upload_cors_origins" {
  description = "Origins of the web page allowed to PUT large exports to the bucket (the local stack's API, as `graphnode stack` serves it)."
  type        = list(string)
  default     = ["http://127.0.0.1:8000", "http://localhost:8000"]
}
