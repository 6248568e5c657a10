def extension_hook(hook_name, context):
    """Observes only (promptfoo's hooks): nothing to do here."""
    return None
