"""The HubSpot CRM v3/v4 half of the simulator (see ``api.HubSpotApi``)."""
