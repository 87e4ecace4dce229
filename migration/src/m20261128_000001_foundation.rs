//! Organizations, API keys and the sales data every partner reads.
//!
//! Every tenant table carries `organization_id`, `created_at` and `updated_at`. List
//! endpoints walk `(organization_id, created_at DESC, id DESC)` by keyset, so each table
//! has that index, plus one `(organization_id, <filter>, created_at, id)` index per filter
//! so a filtered page is an index range scan too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    ClerkOrgId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Name,
    DisplayPrefix,
    SecretHash,
    Scopes,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum TeamMembers {
    Table,
    Id,
    OrganizationId,
    Name,
    Email,
    Role,
    CommissionRatePpm,
    Active,
    Timezone,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    Id,
    OrganizationId,
    Name,
    Email,
    Phone,
    Source,
    Status,
    AssignedTeamMemberId,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    CustomFields,
}

#[derive(DeriveIden, Clone, Copy)]
enum BookingLinks {
    Table,
    Id,
    OrganizationId,
    Slug,
    Name,
    OwnerId,
    DurationMinutes,
    Timezone,
    WeeklyHours,
    BufferMinutes,
    MinNoticeMinutes,
    HorizonDays,
    Active,
}

#[derive(DeriveIden, Clone, Copy)]
enum Calls {
    Table,
    Id,
    OrganizationId,
    LeadId,
    CloserId,
    SetterId,
    BookingLinkId,
    ScheduledAt,
    DurationMinutes,
    Status,
    Outcome,
    Notes,
}

#[derive(DeriveIden, Clone, Copy)]
enum Products {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    PriceAmount,
    Currency,
    Billing,
    Active,
}

#[derive(DeriveIden, Clone, Copy)]
enum Payments {
    Table,
    Id,
    OrganizationId,
    LeadId,
    ProductId,
    CloserId,
    SetterId,
    Amount,
    Currency,
    Status,
    Processor,
    ExternalId,
    PaidAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Common {
    CreatedAt,
    UpdatedAt,
}

/// Adds the columns every tenant table shares.
fn tenant_table<T: IntoIden + Copy + 'static>(table: T, org_column: T) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(uuid(org_column))
        .col(timestamp_with_time_zone(Common::CreatedAt))
        .col(timestamp_with_time_zone(Common::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .from(table, org_column)
                .to(Organizations::Table, Organizations::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn fk<T: IntoIden + Copy + 'static, R: IntoIden + Copy + 'static>(
    table: T,
    column: T,
    references: R,
    references_id: R,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(references, references_id)
        .on_delete(on_delete)
        .to_owned()
}

/// `(organization_id, [filter,] created_at, id)`: the keyset index behind a list order or filter.
fn list_index<T: IntoIden + Copy + 'static>(
    table: T,
    name: &str,
    org_column: T,
    filter: Option<T>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).col(org_column);
    if let Some(filter) = filter {
        index.col(filter);
    }
    index
        .col(Common::CreatedAt)
        .col(Alias::new("id"))
        .to_owned()
}

fn updated_index<T: IntoIden + Copy + 'static>(
    table: T,
    name: &str,
    org_column: T,
) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(table)
        .col(org_column)
        .col(Common::UpdatedAt)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(string_len(Organizations::Name, 200))
                    .col(string_len_uniq(Organizations::Slug, 64))
                    .col(string_len_null(Organizations::ClerkOrgId, 128).unique_key())
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                tenant_table(ApiKeys::Table, ApiKeys::OrganizationId)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(string_len(ApiKeys::Name, 200))
                    .col(string_len(ApiKeys::DisplayPrefix, 32))
                    .col(string_len_uniq(ApiKeys::SecretHash, 64))
                    .col(string_len(ApiKeys::Scopes, 1000))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(list_index(
                ApiKeys::Table,
                "ix_api_keys_list",
                ApiKeys::OrganizationId,
                None,
            ))
            .await?;

        manager
            .create_table(
                tenant_table(TeamMembers::Table, TeamMembers::OrganizationId)
                    .col(pk_uuid(TeamMembers::Id))
                    .col(string_len(TeamMembers::Name, 200))
                    .col(string_len(TeamMembers::Email, 320))
                    .col(string_len(TeamMembers::Role, 16))
                    .col(big_integer(TeamMembers::CommissionRatePpm))
                    .col(boolean(TeamMembers::Active))
                    .col(string_len(TeamMembers::Timezone, 64))
                    .to_owned(),
            )
            .await?;
        for (name, filter) in [
            ("ix_team_members_list", None),
            ("ix_team_members_role", Some(TeamMembers::Role)),
            ("ix_team_members_active", Some(TeamMembers::Active)),
        ] {
            manager
                .create_index(list_index(
                    TeamMembers::Table,
                    name,
                    TeamMembers::OrganizationId,
                    filter,
                ))
                .await?;
        }
        manager
            .create_index(updated_index(
                TeamMembers::Table,
                "ix_team_members_updated",
                TeamMembers::OrganizationId,
            ))
            .await?;

        manager
            .create_table(
                tenant_table(Leads::Table, Leads::OrganizationId)
                    .col(pk_uuid(Leads::Id))
                    .col(string_len(Leads::Name, 200))
                    .col(string_len_null(Leads::Email, 320))
                    .col(string_len_null(Leads::Phone, 40))
                    .col(string_len_null(Leads::Source, 100))
                    .col(string_len(Leads::Status, 16))
                    .col(uuid_null(Leads::AssignedTeamMemberId))
                    .col(string_len_null(Leads::UtmSource, 200))
                    .col(string_len_null(Leads::UtmMedium, 200))
                    .col(string_len_null(Leads::UtmCampaign, 200))
                    .col(string_len_null(Leads::UtmTerm, 200))
                    .col(string_len_null(Leads::UtmContent, 200))
                    .col(json_binary(Leads::CustomFields))
                    .foreign_key(&mut fk(
                        Leads::Table,
                        Leads::AssignedTeamMemberId,
                        TeamMembers::Table,
                        TeamMembers::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, filter) in [
            ("ix_leads_list", None),
            ("ix_leads_status", Some(Leads::Status)),
            ("ix_leads_assigned", Some(Leads::AssignedTeamMemberId)),
        ] {
            manager
                .create_index(list_index(
                    Leads::Table,
                    name,
                    Leads::OrganizationId,
                    filter,
                ))
                .await?;
        }
        manager
            .create_index(updated_index(
                Leads::Table,
                "ix_leads_updated",
                Leads::OrganizationId,
            ))
            .await?;

        manager
            .create_table(
                tenant_table(BookingLinks::Table, BookingLinks::OrganizationId)
                    .col(pk_uuid(BookingLinks::Id))
                    .col(string_len_uniq(BookingLinks::Slug, 100))
                    .col(string_len(BookingLinks::Name, 200))
                    .col(uuid(BookingLinks::OwnerId))
                    .col(integer(BookingLinks::DurationMinutes))
                    .col(string_len(BookingLinks::Timezone, 64))
                    .col(json_binary(BookingLinks::WeeklyHours))
                    .col(integer(BookingLinks::BufferMinutes))
                    .col(integer(BookingLinks::MinNoticeMinutes))
                    .col(integer(BookingLinks::HorizonDays))
                    .col(boolean(BookingLinks::Active))
                    .foreign_key(&mut fk(
                        BookingLinks::Table,
                        BookingLinks::OwnerId,
                        TeamMembers::Table,
                        TeamMembers::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, filter) in [
            ("ix_booking_links_list", None),
            ("ix_booking_links_owner", Some(BookingLinks::OwnerId)),
            ("ix_booking_links_active", Some(BookingLinks::Active)),
        ] {
            manager
                .create_index(list_index(
                    BookingLinks::Table,
                    name,
                    BookingLinks::OrganizationId,
                    filter,
                ))
                .await?;
        }
        manager
            .create_index(updated_index(
                BookingLinks::Table,
                "ix_booking_links_updated",
                BookingLinks::OrganizationId,
            ))
            .await?;

        manager
            .create_table(
                tenant_table(Calls::Table, Calls::OrganizationId)
                    .col(pk_uuid(Calls::Id))
                    .col(uuid(Calls::LeadId))
                    .col(uuid_null(Calls::CloserId))
                    .col(uuid_null(Calls::SetterId))
                    .col(uuid_null(Calls::BookingLinkId))
                    .col(timestamp_with_time_zone(Calls::ScheduledAt))
                    .col(integer(Calls::DurationMinutes))
                    .col(string_len(Calls::Status, 16))
                    .col(string_len_null(Calls::Outcome, 200))
                    .col(text_null(Calls::Notes))
                    .foreign_key(&mut fk(
                        Calls::Table,
                        Calls::LeadId,
                        Leads::Table,
                        Leads::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Calls::Table,
                        Calls::CloserId,
                        TeamMembers::Table,
                        TeamMembers::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Calls::Table,
                        Calls::SetterId,
                        TeamMembers::Table,
                        TeamMembers::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Calls::Table,
                        Calls::BookingLinkId,
                        BookingLinks::Table,
                        BookingLinks::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, filter) in [
            ("ix_calls_list", None),
            ("ix_calls_status", Some(Calls::Status)),
            ("ix_calls_lead", Some(Calls::LeadId)),
            ("ix_calls_closer", Some(Calls::CloserId)),
            ("ix_calls_setter", Some(Calls::SetterId)),
            ("ix_calls_booking_link", Some(Calls::BookingLinkId)),
        ] {
            manager
                .create_index(list_index(
                    Calls::Table,
                    name,
                    Calls::OrganizationId,
                    filter,
                ))
                .await?;
        }
        manager
            .create_index(updated_index(
                Calls::Table,
                "ix_calls_updated",
                Calls::OrganizationId,
            ))
            .await?;

        manager
            .create_table(
                tenant_table(Products::Table, Products::OrganizationId)
                    .col(pk_uuid(Products::Id))
                    .col(string_len(Products::Name, 200))
                    .col(text_null(Products::Description))
                    .col(big_integer(Products::PriceAmount))
                    .col(string_len(Products::Currency, 3))
                    .col(string_len(Products::Billing, 16))
                    .col(boolean(Products::Active))
                    .to_owned(),
            )
            .await?;
        for (name, filter) in [
            ("ix_products_list", None),
            ("ix_products_active", Some(Products::Active)),
            ("ix_products_billing", Some(Products::Billing)),
        ] {
            manager
                .create_index(list_index(
                    Products::Table,
                    name,
                    Products::OrganizationId,
                    filter,
                ))
                .await?;
        }
        manager
            .create_index(updated_index(
                Products::Table,
                "ix_products_updated",
                Products::OrganizationId,
            ))
            .await?;

        manager
            .create_table(
                tenant_table(Payments::Table, Payments::OrganizationId)
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::LeadId))
                    .col(uuid_null(Payments::ProductId))
                    .col(uuid_null(Payments::CloserId))
                    .col(uuid_null(Payments::SetterId))
                    .col(big_integer(Payments::Amount))
                    .col(string_len(Payments::Currency, 3))
                    .col(string_len(Payments::Status, 16))
                    .col(string_len(Payments::Processor, 32))
                    .col(string_len_null(Payments::ExternalId, 200))
                    .col(timestamp_with_time_zone_null(Payments::PaidAt))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::LeadId,
                        Leads::Table,
                        Leads::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::ProductId,
                        Products::Table,
                        Products::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::CloserId,
                        TeamMembers::Table,
                        TeamMembers::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::SetterId,
                        TeamMembers::Table,
                        TeamMembers::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, filter) in [
            ("ix_payments_list", None),
            ("ix_payments_status", Some(Payments::Status)),
            ("ix_payments_lead", Some(Payments::LeadId)),
            ("ix_payments_product", Some(Payments::ProductId)),
            ("ix_payments_closer", Some(Payments::CloserId)),
            ("ix_payments_setter", Some(Payments::SetterId)),
        ] {
            manager
                .create_index(list_index(
                    Payments::Table,
                    name,
                    Payments::OrganizationId,
                    filter,
                ))
                .await?;
        }
        manager
            .create_index(updated_index(
                Payments::Table,
                "ix_payments_updated",
                Payments::OrganizationId,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Payments::Table.into_iden(),
            Products::Table.into_iden(),
            Calls::Table.into_iden(),
            BookingLinks::Table.into_iden(),
            Leads::Table.into_iden(),
            TeamMembers::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
