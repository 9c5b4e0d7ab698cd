"""The OpenAPI 3 document of ``/api/v1``; request schemas come from the pydantic input models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from workflows.contracts import FAILED_VISIT_ACTIONS

REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/schemas/Error"}
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}

VISIT = {
    "type": "object",
    "required": ["id", "sale_id", "kind", "status"],
    "properties": {
        "id": {"type": "integer"},
        "sale_id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["installation", "training", "maintenance", "repair"]},
        "sequence": {"type": "integer"},
        "status": {"type": "string"},
        "duration_minutes": {"type": "integer"},
        "required_skills": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "integer"},
        "earliest_date": {"type": "string", "format": "date"},
        "due_date": NULLABLE_STR,
        "assigned_staff_id": NULLABLE_INT,
        "planned_start": NULLABLE_STR,
        "promised_window_start": NULLABLE_STR,
        "promised_window_end": NULLABLE_STR,
        "billable": {"type": "boolean"},
        "needs_phone_call": {"type": "boolean"},
        "arrived_at": {**NULLABLE_STR, "description": "the technician's check-in"},
        "finished_at": {**NULLABLE_STR, "description": "when it was reported done or failed"},
        "arrival_distance_m": {
            **NULLABLE_INT,
            "description": "metres from the customer's address to where the phone placed the "
            "check-in (null: no position given)",
        },
        "arrival_accuracy_m": {**NULLABLE_INT, "description": "that position's accuracy"},
    },
}
SALE = {
    "type": "object",
    "required": ["id", "customer_id", "product_sku", "status", "stage"],
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": "integer"},
        "customer_name": NULLABLE_STR,
        "product_sku": {"type": "string"},
        "product_name": NULLABLE_STR,
        "sold_on": {"type": "string", "format": "date"},
        "contract_months": {"type": "integer"},
        "contract_ends_on": {"type": ["string", "null"], "format": "date"},
        "external_ref": NULLABLE_STR,
        "status": {"type": "string", "enum": ["active", "cancelled", "returned", "completed"]},
        "stage": {
            "type": "string",
            "enum": ["registered", "installation", "training", "survey", "maintenance", "ended"],
        },
        "visits": {"type": "array", "items": {"$ref": "#/components/schemas/Visit"}},
        "survey": {"type": ["object", "null"]},
        "workflow_started": {"type": "boolean"},
        "address_located": {"type": "string"},
    },
}
STAFF = {
    "type": "object",
    "required": ["id", "name", "role", "skills"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "role": {"type": "string", "enum": ["technician", "trainer"]},
        "skills": {"type": "array", "items": {"type": "string"}},
        "work_start": {"type": "string"},
        "work_end": {"type": "string"},
        "working_days": {"type": "array", "items": {"type": "integer"}},
        "absences": {"type": "array", "items": {"type": "object"}},
    },
}
UNASSIGNED = {
    "type": "object",
    "required": ["visit_id", "reason_code", "reason"],
    "properties": {
        "visit_id": {"type": "integer"},
        "reason_code": {"type": "string"},
        "reason": {"type": "string", "description": "why it was left out, in English"},
        "reason_params": {
            "type": ["object", "null"],
            "description": (
                "the facts of the reason (staff labels, skills, windows, minutes, a variant) to "
                "word it in another language; null for plans stored before they were kept"
            ),
        },
    },
}
PLAN = {
    "type": "object",
    "required": ["plan_date", "plan", "routes", "unassigned", "figures"],
    "properties": {
        "plan_date": {"type": "string", "format": "date"},
        "plan": {"type": ["object", "null"]},
        "approved_plan_id": NULLABLE_INT,
        "routes": {"type": "array", "items": {"type": "object"}},
        "unassigned": {"type": "array", "items": UNASSIGNED},
        "figures": {"type": "object"},
    },
}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    }


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "Malformed request",
        401: "Missing or unknown API token",
        403: "The token's account may not do this",
        404: "Not found",
        409: "Conflicts with the current state",
        415: "The body is not JSON",
        422: "The input is not valid (details say where)",
        503: "Temporal is not reachable (nothing was changed), or the workflow accepted the "
        "request and is still carrying it out (Retry-After; send it again for the result)",
    }
    return {str(c): _json(ERROR, words[c]) for c in codes}


def _lifecycle_answer(changed: dict[str, Any]) -> dict[str, Any]:
    """A sale's lifecycle after a change (its contract, its date): what changed, the
    maintenance rounds in the whole contract and the after-sales service's last day."""
    return {
        "type": "object",
        "properties": {
            "sale_id": {"type": "integer"},
            **changed,
            "maintenance_rounds": {"type": "integer"},
            "ends_on": {"type": "string", "format": "date"},
        },
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    from domain.schemas import ProductIn
    from web.blueprints.api import (
        ApproveIn,
        CancelIn,
        ContractIn,
        FailedVisitDecisionIn,
        FaultIn,
        OptimizeIn,
        SoldOnIn,
    )
    from web.sale_start import NewSale

    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "details": {"type": "array"}},
        },
        "Visit": VISIT,
        "Sale": SALE,
        "Staff": STAFF,
        "Plan": PLAN,
        "VisitPage": _page("Visit"),
        "SalePage": _page("Sale"),
        "StaffList": _page("Staff"),
        "ProductList": _page("ProductOut"),
    }
    new_sale = _schema(NewSale, components)
    fault = _schema(FaultIn, components)
    cancel = _schema(CancelIn, components)
    contract = _schema(ContractIn, components)
    sold_on = _schema(SoldOnIn, components)
    decision = _schema(FailedVisitDecisionIn, components)
    optimize = _schema(OptimizeIn, components)
    approve = _schema(ApproveIn, components)
    product_in = _schema(ProductIn, components)
    components["ProductOut"] = {
        "allOf": [product_in, {"type": "object", "properties": {"id": {"type": "integer"}}}]
    }

    def body(ref: dict[str, Any], required: bool = True) -> dict[str, Any]:
        return {"required": required, "content": {"application/json": {"schema": ref}}}

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    int_path = {"type": "integer", "minimum": 1}
    day_param = {
        "name": "day", "in": "path", "required": True,
        "schema": {"type": "string", "format": "date"},
    }  # fmt: skip
    page_params = [
        {"name": "limit", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]  # fmt: skip

    def path_id(name: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": int_path}

    common = _errors(401, 403)
    paths: dict[str, Any] = {
        "/sales": {
            "post": {
                "operationId": "createSale",
                "summary": "Register a sale (new or existing customer) and start its lifecycle",
                "description": "With a geocoder configured (POSVENTA_GEOCODER_URL) a new "
                "customer may be sent without latitude and longitude: they are located from "
                "the address, and the answer's address_located says what was found (422 if "
                "nothing is, 503 if the geocoder fails).",
                "requestBody": body(new_sale),
                "responses": {
                    "201": _json(ref("Sale"), "The stored sale"),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            },
            "get": {
                "operationId": "listSales",
                "summary": "Sales, newest first",
                "parameters": [
                    *page_params,
                    {
                        "name": "stage",
                        "in": "query",
                        "schema": {"type": "string", "enum": SALE["properties"]["stage"]["enum"]},
                    },
                ],
                "responses": {
                    "200": _json(ref("SalePage"), "A page of sales"),
                    **common,
                    **_errors(400),
                },
            },
        },
        "/sales/{sale_id}": {
            "get": {
                "operationId": "getSale",
                "summary": "A sale with its stage, visits and survey",
                "parameters": [path_id("sale_id")],
                "responses": {"200": _json(ref("Sale"), "The sale"), **common, **_errors(404)},
            }
        },
        "/sales/{sale_id}/faults": {
            "post": {
                "operationId": "reportFault",
                "summary": "Report a fault: the lifecycle requests a repair visit",
                "parameters": [path_id("sale_id")],
                "requestBody": body(fault),
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "visit_id": {"type": "integer"},
                                "billable": {"type": "boolean"},
                            },
                        },
                        "The repair visit",
                    ),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            }
        },
        "/sales/{sale_id}/cancel": {
            "post": {
                "operationId": "cancelSale",
                "summary": "Cancel or return a sale (ends its pending visits)",
                "parameters": [path_id("sale_id")],
                "requestBody": body(cancel),
                "responses": {
                    "202": _json({"type": "object"}, "Cancellation accepted"),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            }
        },
        "/sales/{sale_id}/contract": {
            "post": {
                "operationId": "changeContract",
                "summary": "Renew, extend or correct the maintenance contract: its new length in "
                "months from the sale day (it may not end before today); the lifecycle plans "
                "the maintenance rounds of the new contract",
                "parameters": [path_id("sale_id")],
                "requestBody": body(contract),
                "responses": {
                    "200": _json(
                        _lifecycle_answer({"contract_months": {"type": "integer"}}),
                        "The contract as it now stands",
                    ),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            }
        },
        "/sales/{sale_id}/sold-on": {
            "post": {
                "operationId": "correctSoldOn",
                "summary": "Correct the sale's date (a typing mistake): not in the future, not "
                "after a visit already done, not so early that contract and warranty are over; "
                "the lifecycle plans the maintenance rounds still to come from it",
                "parameters": [path_id("sale_id")],
                "requestBody": body(sold_on),
                "responses": {
                    "200": _json(
                        _lifecycle_answer({"sold_on": {"type": "string", "format": "date"}}),
                        "The sale as it now stands",
                    ),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            }
        },
        "/sales/{sale_id}/visits/{visit_id}/decision": {
            "post": {
                "operationId": "decideFailedVisit",
                "summary": "After a visit failed (the customer absent too often): request it "
                "again (retry) or close its step (close); the lifecycle waits until then",
                "parameters": [path_id("sale_id"), path_id("visit_id")],
                "requestBody": body(decision),
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "visit_id": {"type": "integer"},
                                "action": {"type": "string", "enum": list(FAILED_VISIT_ACTIONS)},
                            },
                        },
                        "Decision accepted",
                    ),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            }
        },
        "/visits": {
            "get": {
                "operationId": "listVisits",
                "summary": "Visits (a technician's token sees only their own)",
                "parameters": [
                    *page_params,
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {"name": "staff_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "sale_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": _json(ref("VisitPage"), "A page of visits"),
                    **common,
                    **_errors(400),
                },
            }
        },
        "/visits/{visit_id}": {
            "get": {
                "operationId": "getVisit",
                "summary": "A visit with its customer time windows",
                "parameters": [path_id("visit_id")],
                "responses": {"200": _json(ref("Visit"), "The visit"), **common, **_errors(404)},
            }
        },
        "/plans/{day}": {
            "get": {
                "operationId": "getPlan",
                "summary": "The day's current plan: routes, unassigned visits, figures",
                "parameters": [
                    day_param,
                    {"name": "plan_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _json(ref("Plan"), "The plan"), **common, **_errors(400, 404)},
            }
        },
        "/plans/{day}/optimize": {
            "post": {
                "operationId": "optimizePlan",
                "summary": "Draft a new plan for the day (confirmed visits stay locked)",
                "parameters": [day_param],
                "requestBody": body(optimize, required=False),
                "responses": {
                    "201": _json({"type": "object"}, "The draft"),
                    **common,
                    **_errors(400, 415, 422),
                },
            }
        },
        "/plans/{day}/approve": {
            "post": {
                "operationId": "approvePlan",
                "summary": "Approve a draft: the planning workflow notifies customers",
                "parameters": [day_param],
                "requestBody": body(approve),
                "responses": {
                    "200": _json({"type": "object"}, "Approved"),
                    **common,
                    **_errors(400, 404, 409, 415, 422, 503),
                },
            }
        },
        "/products": {
            "get": {
                "operationId": "listProducts",
                "summary": "The product catalogue",
                "responses": {"200": _json(ref("ProductList"), "Products"), **common},
            }
        },
        "/products/{sku}": {
            "put": {
                "operationId": "putProduct",
                "summary": "Create or change the product with this SKU (catalogue sync)",
                "description": "The body is the whole product; its sku may rename the product "
                "(409 if another product has it). 201 when created, 200 when changed; sales "
                "already registered plan their next visits with the new values.",
                "parameters": [
                    {
                        "name": "sku",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                    }
                ],
                "requestBody": body(product_in),
                "responses": {
                    "200": _json(ref("ProductOut"), "The changed product"),
                    "201": _json(ref("ProductOut"), "The new product"),
                    **common,
                    **_errors(400, 409, 415, 422),
                },
            }
        },
        "/staff": {
            "get": {
                "operationId": "listStaff",
                "summary": "Technicians and trainers",
                "responses": {"200": _json(ref("StaffList"), "Staff"), **common},
            }
        },
        "/staff/{staff_id}": {
            "get": {
                "operationId": "getStaff",
                "summary": "A staff member with skills, hours and days off",
                "parameters": [path_id("staff_id")],
                "responses": {
                    "200": _json(ref("Staff"), "The staff member"),
                    **common,
                    **_errors(404),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "posventa API",
            "version": "1",
            "description": "Register sales, follow their after-sales life, read and approve "
            "daily plans. Authenticate with 'Authorization: Bearer <token>' (tokens are issued "
            "by an administrator on the API tokens page).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }
