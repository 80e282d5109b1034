with

source as (

    {{ filled_source('salesforce', 'user', {
        'Id': 'varchar',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'Username': 'varchar',
        'Name': 'varchar',
        'FirstName': 'varchar',
        'LastName': 'varchar',
        'Title': 'varchar',
        'Department': 'varchar',
        'Email': 'varchar',
        'IsActive': 'boolean',
        'UserRoleId': 'varchar',
        'ProfileId': 'varchar',
        'ManagerId': 'varchar',
        'UserType': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as user_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        Name as user_name,
        Title as title,
        Department as department,
        IsActive as is_active,
        UserRoleId as user_role_id,
        ProfileId as profile_id,
        ManagerId as manager_id,
        UserType as user_type,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
