# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the app role: which stack images the host still has to pull or load."""

from __future__ import annotations

import json
import re

from ansible.errors import AnsibleFilterError

_IMAGE_ID = re.compile(r"[0-9a-f]{64}")


def _archive_ids(manifest):
    """Tag -> image ID (sha256:...) from the manifest.json of a `docker save` archive (text or parsed)."""
    if manifest in (None, ""):
        return {}
    if isinstance(manifest, str):
        try:
            manifest = json.loads(manifest)
        except ValueError as exc:
            raise AnsibleFilterError(f"missing_images: the archive's manifest.json is not JSON ({exc})") from exc
    ids = {}
    for entry in manifest or []:
        found = _IMAGE_ID.search(str(entry.get("Config") or ""))
        for tag in entry.get("RepoTags") or []:
            if found:
                ids[tag] = "sha256:" + found.group(0)
    return ids


def missing_images(refs, host_images, archive_manifest=None):
    """The references in ``refs`` that the host lacks, or holds as another image than the archive does.

    ``host_images`` is community.docker.docker_image_info's ``images``; ``archive_manifest`` the text (or
    the parsed list) of the archive's manifest.json, empty when the images are pulled. An archive may carry
    a rebuilt image under a tag the host already has, so image IDs are compared, not tags. Order of ``refs``
    is kept.
    """
    host_ids = {}
    for image in host_images or []:
        for tag in image.get("RepoTags") or []:
            host_ids[tag] = image.get("Id")
    archive_ids = _archive_ids(archive_manifest)
    return [ref for ref in refs if ref not in host_ids or (ref in archive_ids and archive_ids[ref] != host_ids[ref])]


class FilterModule:
    def filters(self):
        return {"missing_images": missing_images}
