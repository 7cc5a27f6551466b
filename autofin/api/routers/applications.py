"""Applications: the draft and its plan, documents, submission (pre-approval), cancellation."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select

from autofin.api.deps import allowed, principal, store
from autofin.api.idempotency import HEADER, run_once
from autofin.api.schemas import ApplicationIn, CancelIn, Offset, PathId
from autofin.domain.money import format_minor
from autofin.origination import applications as svc
from autofin.origination.access import Principal
from autofin.origination.errors import NotFound
from autofin.store.models import Application, Document, Partner

router = APIRouter(prefix="/applications", tags=["applications"])


@router.get("")
def list_applications(request: Request, status: str | None = None, partner_code: str | None = None, flagged: bool | None = None,
                      limit: int = Query(100, ge=1, le=1000), offset: Offset = 0,
                      who: Principal = Depends(principal)) -> list[dict]:
    query = (select(Application.application_no, Application.status, Application.business_type, Partner.partner_code,
                    Application.customer_id, Application.financed_minor, Application.is_flagged, Application.created_at)
             .join(Partner, Partner.partner_id == Application.partner_id)
             .order_by(Application.application_id.desc()).limit(limit).offset(offset))
    if who.partner_scope is not None:
        query = query.where(Application.partner_id == who.partner_scope)
    if status:
        query = query.where(Application.status == status)
    if partner_code:
        query = query.where(Partner.partner_code == partner_code)
    if flagged is not None:
        query = query.where(Application.is_flagged == flagged)
    with store(request).read() as conn:
        return [{"application_no": r.application_no, "status": r.status, "business_type": r.business_type, "partner_code": r.partner_code,
                 "customer_id": r.customer_id, "financed_amount": format_minor(r.financed_minor), "is_flagged": bool(r.is_flagged),
                 "created_at": r.created_at.isoformat()} for r in conn.execute(query).all()]


@router.get("/{application_no}")
def get_application(request: Request, application_no: str, who: Principal = Depends(principal)) -> dict:
    with store(request).read() as conn:
        return svc.view(conn, svc.get_application(conn, who, application_no))


@router.post("", status_code=201)
def create_application(request: Request, body: ApplicationIn, who: Principal = Depends(allowed("applications.write")),
                       idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    """A draft with its financing plan from the calculator (the same as POST /quotes gives)."""
    s = store(request)
    with s.write() as conn:
        return run_once(conn, who, idempotency_key, "POST", "/applications", body.model_dump_json(),
                        lambda: (201, svc.view(conn, svc.create_application(conn, who, body.model_dump(), s.today()))))


@router.put("/{application_no}")
def update_application(request: Request, application_no: str, body: ApplicationIn,
                       who: Principal = Depends(allowed("applications.write"))) -> dict:
    s = store(request)
    with s.write() as conn:
        row = svc.get_application(conn, who, application_no)
        return svc.view(conn, svc.update_application(conn, who, row, body.model_dump(), s.today()))


@router.post("/{application_no}/submit")
def submit(request: Request, application_no: str, who: Principal = Depends(allowed("applications.write")),
           idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    """Pre-approval: bureau, anti-fraud, scorecard and the rule set; the decision and every rule hit
    come back (and stay on the application)."""
    s = store(request)
    with s.write() as conn:
        row = svc.get_application(conn, who, application_no)
        return run_once(conn, who, idempotency_key, "POST", f"/applications/{application_no}/submit", "",
                        lambda: (200, {"application_no": application_no,
                                       **svc.submit(conn, who, row, s.clock(), s.today(), s.adapters)}))


@router.post("/{application_no}/cancel")
def cancel(request: Request, application_no: str, body: CancelIn, who: Principal = Depends(allowed("applications.write"))) -> dict:
    with store(request).write() as conn:
        row = svc.get_application(conn, who, application_no)
        return svc.view(conn, svc.cancel(conn, who, row, body.reason))


@router.post("/{application_no}/documents", status_code=201,
             responses={413: {"description": "larger than the limit"}, 415: {"description": "not JPEG, PNG or PDF"}})
def upload_document(request: Request, application_no: str,
                    doc_type: str = Form(..., description=", ".join(svc.DOC_TYPES)),
                    file: UploadFile = File(..., description=f"JPEG, PNG or PDF, at most {svc.MAX_DOCUMENT_BYTES} bytes"),
                    who: Principal = Depends(allowed("applications.write")),
                    idempotency_key: str | None = Header(None, alias=HEADER)) -> JSONResponse:
    data = file.file.read(svc.MAX_DOCUMENT_BYTES + 1)  # one byte over the limit is enough to refuse
    with store(request).write() as conn:
        row = svc.get_application(conn, who, application_no)

        def create() -> tuple[int, dict]:
            doc = svc.store_document(conn, who, row, doc_type, file.filename or "", data)
            return 201, {"document_id": doc.document_id, "doc_type": doc.doc_type, "file_name": doc.file_name,
                         "content_type": doc.content_type, "size_bytes": doc.size_bytes, "sha256": doc.sha256}

        fingerprint = f"{doc_type}:{hashlib.sha256(data).hexdigest()}"
        return run_once(conn, who, idempotency_key, "POST", f"/applications/{application_no}/documents", fingerprint, create)


@router.get("/{application_no}/documents/{document_id}", response_class=FileResponse)
def download_document(request: Request, application_no: str, document_id: PathId, who: Principal = Depends(principal)) -> FileResponse:
    with store(request).read() as conn:
        row = svc.get_application(conn, who, application_no)
        doc = conn.execute(select(Document).where(Document.document_id == document_id,
                                                  Document.application_id == row.application_id)).first()
    if doc is None:
        raise NotFound("document", document_id)
    return FileResponse(svc.document_path(doc.sha256), media_type=doc.content_type, filename=doc.file_name)
