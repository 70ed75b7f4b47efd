"""Base models in gpt-2-simple's layout (``models/<name>/``): OpenAI's GPT-2s downloaded
(:mod:`~titlegen.models.download`), or small ones made from a dataset
(:mod:`~titlegen.models.new_model`)."""
