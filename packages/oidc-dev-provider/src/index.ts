export { createIdentityProvider, startIdentityProvider, API_SCOPE, DEFAULT_RESOURCE, type IdentityProvider, type IdentityProviderInit, type ProviderClient, type StartedIdentityProvider } from './provider.js';
export { generatePassword, MIN_PASSWORD_LENGTH, type ProviderUser } from './users.js';
