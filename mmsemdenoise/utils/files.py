"""Small file helpers shared by the tools."""
import hashlib


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (recorded in converted checkpoints' meta)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()
