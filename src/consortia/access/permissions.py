"""Every permission of Consortia, named `<resource>:<action>`.

Routes declare one of these; `policy.PERMISSION_MAP` says which rules grant each.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    # Entry points that need no sign-in (sign-in page, registration, health, static files).
    PUBLIC = "public"
    # Anything a signed-in person may do about themselves (dashboard, sign-out, own decisions).
    SIGNED_IN = "session:signed-in"

    # Tenancy (P-1): the operator's (managing institutions includes working in another one).
    CONSORTIUM_READ = "consortium:read"
    CONSORTIUM_MANAGE = "consortium:manage"
    INSTITUTION_READ = "institution:read"
    INSTITUTION_MANAGE = "institution:manage"
    LIBRARY_READ = "library:read"
    LIBRARY_MANAGE = "library:manage"
    NETWORK_READ = "network:read"
    NETWORK_MANAGE = "network:manage"

    # Parameters (P-2): who may change one depends on the parameter.
    PARAMETER_READ = "parameter:read"
    PARAMETER_EDIT = "parameter:edit"

    # Users, roles and credentials (P-3 .. P-5).
    USER_READ = "user:read"
    USER_CREATE = "user:create"
    USER_EDIT = "user:edit"
    USER_DELETE = "user:delete"
    ROLE_GRANT = "role:grant"
    # Granting or removing GENERAL_SYSTEM_ADMINISTRATOR: narrower than role:grant.
    ROLE_GRANT_ADMIN = "role:grant-admin"
    # Changing a user's Support Center level among NONE, BASIC and STANDARD (SC-3): raising to STANDARD
    # and every lowering; CONSORTIA is the operator's licence (`licence:manage`).
    SUPPORT_LEVEL_SET = "support-level:set"
    # Another user's password and API keys (P-5): whoever holds them acts as that user, so only those
    # who cover the user (the operator, the user, an administrator above them) manage them.
    USER_CREDENTIALS = "user:credentials"
    CODE_TABLE_READ = "code-table:read"
    CODE_TABLE_EDIT = "code-table:edit"

    # History, jobs, explanations (P-6, P-7, P-9).
    HISTORY_READ = "history:read"
    JOB_READ = "job:read"
    JOB_RUN = "job:run"
    ACCESS_EXPLAIN = "access:explain"
    MAIL_OUTBOX_READ = "mail:read"

    # Support Center (SC).
    CASE_READ = "case:read"
    CASE_CREATE = "case:create"
    CASE_EDIT = "case:edit"
    CASE_COMMENT = "case:comment"
    CASE_SHARE = "case:share"
    LIST_VIEW_MANAGE = "list-view:manage"
    CASE_SHARING_MANAGE = "case-sharing:manage"
    # Asking the operator to enable case sharing for one's consortium (SC-10): STANDARD users.
    CASE_SHARING_REQUEST = "case-sharing:request"
    LICENCE_MANAGE = "licence:manage"
    CONTACT_MANAGE = "contact:manage"
    # Inactivating or reactivating a Support Center contact, and inactivating, deleting or making a patron
    # of a Consortia user (SC-12): the operator's.
    CONTACT_STATUS = "contact:status"
    ACCESS_REVIEW = "access-review:manage"

    # Electronic resources (ER): reading the inventory, and each kind's edit (ER-5), delete (ER-6) and
    # create; the scope rule of `eresources.policy` decides edit and delete per resource.
    ERESOURCE_READ = "eresource:read"
    COLLECTION_CREATE = "electronic-collection:create"
    COLLECTION_EDIT = "electronic-collection:edit"
    COLLECTION_DELETE = "electronic-collection:delete"
    SERVICE_EDIT = "electronic-service:edit"
    SERVICE_DELETE = "electronic-service:delete"
    PORTFOLIO_CREATE = "portfolio:create"
    PORTFOLIO_EDIT = "portfolio:edit"
    PORTFOLIO_DELETE = "portfolio:delete"
    BIB_CREATE = "bib:create"
    # Activating from the Community Zone (ER-23); the catalogue itself is the operator's.
    CZ_ACTIVATE = "cz:activate"
    CZ_MANAGE = "cz:manage"
    # Items of the Community Zone Updates and Activation Task Lists (ER-14, ER-15), and electronic items
    # ordered on a PO line (ER-18): acting on one is editing its resource (the scope rule, ER-5); deleting
    # an activation item needs the delete rule (ER-6).
    TASK_EDIT = "eresource-task:edit"
    TASK_DELETE = "eresource-task:delete"
    PO_LINE_ITEM_EDIT = "po-line-item:edit"
    # Changing the information of a set of portfolios in bulk ("Change Electronic Portfolio Information",
    # ER-21): the Repository Manager's, never the electronic inventory roles' alone.
    PORTFOLIO_BULK_CHANGE = "portfolio:bulk-change"
    # Itemized sets of portfolios (the input of ER-21).
    SET_READ = "set:read"
    SET_MANAGE = "set:manage"
    # Metadata import profiles and running an import (ER-22).
    IMPORT_PROFILE_READ = "import-profile:read"
    IMPORT_PROFILE_MANAGE = "import-profile:manage"
    IMPORT_RUN = "import:run"
    # Collaborative network (CN): the rules and tables of an institution, the walk-in desk.
    NETWORK_CONFIG_READ = "network-config:read"
    NETWORK_CONFIG_EDIT = "network-config:edit"
    # Searching the fulfillment network for walk-in patrons, previewing and linking one (CN-8, CN-9, CN-13);
    # the object is a walk-in candidate: who may be found is part of the rule.
    WALK_IN_FIND = "walk-in:find"
    # Refreshing a linked account from its source (CN-10) and lending to walk-in patrons (CN-11).
    LINKED_ACCOUNT_REFRESH = "linked-account:refresh"
