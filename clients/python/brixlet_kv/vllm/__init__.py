"""vLLM integration: ``brixlet_kv.vllm.connector.BrixletConnector`` (see README.md in this folder)."""
