"""The store's side of frame export and import (``synthesis/sql/frame_io.sql``): one snapshot
read of a frame, and the remapped rows written in one transaction (``medium_import_rows_v1``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from synthesis import errors, frame_io
from synthesis.store import Store


class FrameIOStore(Store):
    async def export_frame(self, frame_id: UUID) -> dict[str, Any]:
        """Every row of the frame and the users it names, read in one statement."""
        doc = await self._fetchval("export_frame", frame_id)
        if doc is None:
            raise errors.NotFound("frame not found", field="frame")
        return doc  # type: ignore[no-any-return]

    async def import_frame(self, remapped: dict[str, Any], *, email: Any) -> UUID:
        """Write a remapped export (``frame_io.remap``) in ONE transaction: its users (fresh
        accounts, ``email(name, id)``), the frame, then each table in ``frame_io.TABLES`` order.
        A failure writes nothing."""
        frame_id = UUID(remapped["frame"]["id"])
        async with self.transaction() as conn:
            for u in remapped["users"]:
                await self.insert_user(conn, UUID(u["id"]), email(u["name"], UUID(u["id"])), {"name": u["name"]})
            await self._fetchval("import_rows", frame_id, "frames", [remapped["frame"]], conn=conn)
            for table in frame_io.TABLES:
                await self._fetchval("import_rows", frame_id, table, remapped[table], conn=conn)
        return frame_id

    async def frame_counts(self, frame_id: UUID) -> dict[str, int]:
        return await self._fetchval("frame_row_counts", frame_id)  # type: ignore[no-any-return]

    async def server_major(self) -> int:
        return int(await self._fetchval("server_version_num")) // 10000

    async def dump_table_count(self) -> int:
        return int(await self._fetchval("dump_table_count"))
