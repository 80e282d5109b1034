"""The simulated Salesforce API (REST, SOAP/OAuth logins, Bulk API 2.0) served by :class:`.api.SalesforceApi`."""
