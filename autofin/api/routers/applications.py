"""Applications: the draft and its plan, documents, submission (pre-approval), cancellation."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import File, Form, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from autofin.api.deps import Caller, IdempotencyKeyHeader, StoreDep, requires
from autofin.api.idempotency import replayed, run_once
from autofin.api.public import ApplicationPublic, ApplicationSummaryPublic, DocumentPublic, PreApprovalPublic, PublicRouter
from autofin.api.schemas import ApplicationIn, CancelIn, Limit, Offset, PathId
from autofin.origination import applications as svc

router = PublicRouter(prefix="/applications", tags=["applications"])


@router.get("")
def list_applications(s: StoreDep, who: Caller, status: str | None = None, partner_code: str | None = None, flagged: bool | None = None,
                      limit: Limit = 100, offset: Offset = 0) -> list[ApplicationSummaryPublic]:
    with s.read() as conn:
        return [ApplicationSummaryPublic.model_validate(a) for a in svc.list_applications(
            conn, who, status=status, partner_code=partner_code, flagged=flagged, limit=limit, offset=offset)]


@router.get("/{application_no}")
def get_application(s: StoreDep, application_no: str, who: Caller) -> ApplicationPublic:
    with s.read() as conn:
        return ApplicationPublic.model_validate(svc.view(conn, svc.get_application(conn, who, application_no)))


@router.post("", status_code=201, response_model=ApplicationPublic, dependencies=[requires("applications.write")])
def create_application(s: StoreDep, body: ApplicationIn, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """A draft with its financing plan from the calculator (the same as POST /quotes gives)."""
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/applications", body.model_dump_json(),
                        lambda: (201, svc.view(conn, svc.create_application(conn, who, request=body.to_request(), today=s.today()))),
                        ApplicationPublic)


@router.put("/{application_no}", dependencies=[requires("applications.write")])
def update_application(s: StoreDep, application_no: str, body: ApplicationIn, who: Caller) -> ApplicationPublic:
    with s.write() as conn:
        row = svc.get_application(conn, who, application_no)
        return ApplicationPublic.model_validate(svc.view(conn, svc.update_application(conn, who, row, request=body.to_request(),
                                                                                      today=s.today())))


@router.post("/{application_no}/submit", response_model=PreApprovalPublic, dependencies=[requires("applications.write")])
def submit(s: StoreDep, application_no: str, who: Caller, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Pre-approval: bureau, anti-fraud, scorecard and the rule set; the decision and every rule hit
    come back (and stay on the application). Decided on a read, recorded in a short write (409
    should the application change in between)."""
    path, now = f"/applications/{application_no}/submit", s.clock()
    with s.read() as conn:
        seen = replayed(conn, who, idempotency_key, "POST", path, "")
        if seen is not None:
            return seen
        decided = svc.decide(conn, who, svc.get_application(conn, who, application_no), now, s.today(), s.adapters)
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", path, "",
                        lambda: (200, {"application_no": application_no, **svc.record(conn, who, decided, now)}), PreApprovalPublic)


@router.post("/{application_no}/cancel", dependencies=[requires("applications.write")])
def cancel(s: StoreDep, application_no: str, body: CancelIn, who: Caller) -> ApplicationPublic:
    with s.write() as conn:
        row = svc.get_application(conn, who, application_no)
        return ApplicationPublic.model_validate(svc.view(conn, svc.cancel(conn, who, row, body.reason)))


@router.post("/{application_no}/documents", status_code=201, response_model=DocumentPublic, dependencies=[requires("applications.write")],
             responses={413: {"description": "larger than the limit"}, 415: {"description": "not JPEG, PNG or PDF"}})
def upload_document(s: StoreDep, application_no: str, who: Caller,
                    doc_type: Annotated[str, Form(description=", ".join(svc.DOC_TYPES))],
                    file: Annotated[UploadFile, File(description=f"JPEG, PNG or PDF, at most {svc.MAX_DOCUMENT_BYTES} bytes")],
                    idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    data = file.file.read(svc.MAX_DOCUMENT_BYTES + 1)  # one byte over the limit is enough for the service to refuse
    with s.write() as conn:
        row = svc.get_application(conn, who, application_no)

        def create() -> tuple[int, dict]:
            doc = svc.store_document(conn, who, row, doc_type, file.filename or "", data)
            return 201, {"document_id": doc.document_id, "doc_type": doc.doc_type, "file_name": doc.file_name,
                         "content_type": doc.content_type, "size_bytes": doc.size_bytes, "sha256": doc.sha256}

        fingerprint = f"{doc_type}:{hashlib.sha256(data).hexdigest()}"
        return run_once(conn, who, idempotency_key, "POST", f"/applications/{application_no}/documents", fingerprint, create, DocumentPublic)


@router.get("/{application_no}/documents/{document_id}", response_class=FileResponse, responses={200: {
    "description": "the file as uploaded",
    "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png", "application/pdf")}}})
def download_document(s: StoreDep, application_no: str, document_id: PathId, who: Caller) -> FileResponse:
    with s.read() as conn:
        doc = svc.get_document(conn, who, application_no, document_id)
    return FileResponse(svc.document_path(doc.sha256), media_type=doc.content_type, filename=doc.file_name)
